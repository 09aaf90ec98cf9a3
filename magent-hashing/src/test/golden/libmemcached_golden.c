/*
 * Writes where libmemcached's weighted ketama puts the keys of rings.spec, for KetamaGoldenTest.
 *
 * The output is committed next to rings.spec in src/test/resources/dev/magent/hashing/ as
 * libmemcached.golden; rerun only to check another libmemcached version. It needs the library, not its
 * headers (the few declarations used are below, from libmemcached 1.1's public headers). From this directory:
 *
 *   gcc -O2 -o /tmp/libmemcached_golden libmemcached_golden.c -l:libmemcached.so.11
 *   R=../resources/dev/magent/hashing; /tmp/libmemcached_golden < $R/rings.spec > $R/libmemcached.golden
 *
 * No server is contacted: memcached_generate_hash only consults the continuum.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct memcached_st memcached_st;
memcached_st *memcached_create(memcached_st *ptr);
void memcached_free(memcached_st *ptr);
int memcached_behavior_set(memcached_st *ptr, int flag, uint64_t data);
int memcached_server_add_with_weight(memcached_st *ptr, const char *hostname, uint16_t port, uint32_t weight);
uint32_t memcached_generate_hash(const memcached_st *ptr, const char *key, size_t key_length);
const char *memcached_lib_version(void);

/* enum memcached_behavior_t in libmemcached-1.0/types/behavior.h: NO_BLOCK is 0, KETAMA_WEIGHTED 16 */
#define MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED 16

/* The same key stream as KetamaGoldenTest.keys(): splitmix64, lengths 1..100, bytes printable ASCII or >= 0x80. */
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static size_t next_key(uint64_t *state, unsigned char *key) {
    size_t len = 1 + splitmix64(state) % 100;
    for (size_t i = 0; i < len; i++) {
        unsigned v = (unsigned) (splitmix64(state) % 222);
        key[i] = (unsigned char) (v < 94 ? 0x21 + v : 0x80 + (v - 94));
    }
    return len;
}

static size_t unhex(const char *hex, unsigned char *out) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
    }
    return n;
}

int main(void) {
    char line[1024], label[256], host[256], hex[1024];
    char extra[64][1024];
    int extras = 0;
    uint64_t seed = 0;
    unsigned count = 0, port, weight;
    memcached_st *memc = NULL;
    unsigned char key[256];

    printf("# libmemcached %s, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, for rings.spec (libmemcached_golden.c)\n",
           memcached_lib_version());
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        if (sscanf(line, "ring %255s %" SCNu64 " %u", label, &seed, &count) == 3) {
            memc = memcached_create(NULL);
            if (memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != 0) {
                fprintf(stderr, "cannot turn on weighted ketama\n");
                return 1;
            }
            extras = 0;
        } else if (sscanf(line, "server %255s %u %u", host, &port, &weight) == 3) {
            if (memcached_server_add_with_weight(memc, host, (uint16_t) port, weight) != 0) {
                fprintf(stderr, "cannot add %s:%u\n", host, port);
                return 1;
            }
        } else if (sscanf(line, "key %1023s", hex) == 1) {
            strcpy(extra[extras++], hex);
        } else if (strncmp(line, "end", 3) == 0) {
            printf("ring %s\n", label);
            uint64_t state = seed;
            for (unsigned i = 0; i < count; i++) {
                size_t len = next_key(&state, key);
                printf(i % 50 == 0 ? "placement %u" : " %u", memcached_generate_hash(memc, (char *) key, len));
                if (i % 50 == 49 || i == count - 1) {
                    printf("\n");
                }
            }
            for (int i = 0; i < extras; i++) {
                size_t len = unhex(extra[i], key);
                printf("key %s %u\n", extra[i], memcached_generate_hash(memc, (char *) key, len));
            }
            printf("end\n");
            memcached_free(memc);
            memc = NULL;
        } else {
            fprintf(stderr, "bad line: %s", line);
            return 1;
        }
    }
    return 0;
}
