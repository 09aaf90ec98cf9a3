package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.magent.protocol.Stat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Merging the replies of several servers to one stats sub-command; lines as memcached 1.6.18 writes them. */
class StatsMergeTest {
    private static List<Stat> stats(String... nameValue) {
        List<Stat> out = new ArrayList<>();
        for (String s : nameValue) {
            String[] w = s.split(" ", 2);
            out.add(new Stat(w[0], w[1]));
        }
        return out;
    }

    @Test
    void itemsSumCountsTakeTheOldestAgeAndOrderClasses() {
        List<Stat> a = stats("items:1:number 5", "items:1:age 17", "items:1:evicted 1", "items:1:evicted_time 3",
                "items:12:number 2", "items:12:age 4");
        List<Stat> b = stats("items:5:number 1", "items:5:age 9", "items:1:number 7", "items:1:age 30",
                "items:1:evicted 2", "items:1:evicted_time 1");
        assertEquals(stats("items:1:number 12", "items:1:age 30", "items:1:evicted 3", "items:1:evicted_time 3",
                "items:5:number 1", "items:5:age 9", "items:12:number 2", "items:12:age 4"),
                StatsMerge.items(List.of(a, b)));
        assertEquals(List.of(), StatsMerge.items(List.of(List.of(), List.of())));
    }

    @Test
    void slabsSumCountsKeepChunkSizesAndCountActiveClasses() {
        List<Stat> a = stats("1:chunk_size 96", "1:chunks_per_page 10922", "1:total_pages 1", "1:used_chunks 5",
                "active_slabs 1", "total_malloced 1048576");
        List<Stat> b = stats("1:chunk_size 96", "1:chunks_per_page 10922", "1:total_pages 2", "1:used_chunks 3",
                "3:chunk_size 152", "3:chunks_per_page 6898", "3:total_pages 1", "3:used_chunks 1",
                "active_slabs 2", "total_malloced 3145728");
        assertEquals(stats("1:chunk_size 96", "1:chunks_per_page 10922", "1:total_pages 3", "1:used_chunks 8",
                "3:chunk_size 152", "3:chunks_per_page 6898", "3:total_pages 1", "3:used_chunks 1",
                "active_slabs 2", "total_malloced 4194304"), StatsMerge.slabs(List.of(a, b)));
        // an empty cache: only the totals
        assertEquals(stats("active_slabs 0", "total_malloced 0"),
                StatsMerge.slabs(List.of(stats("active_slabs 0", "total_malloced 0"),
                        stats("active_slabs 0", "total_malloced 0"))));
    }

    @Test
    void sizesSumBySize() {
        assertEquals(stats("sizes_status disabled"),
                StatsMerge.sizes(List.of(stats("sizes_status disabled"), stats("sizes_status disabled"))));
        assertEquals(stats("96 3", "128 1", "256 2"),
                StatsMerge.sizes(List.of(stats("128 1", "96 1"), stats("96 2", "256 2"))));
    }

    @Test
    void connsAreRenumberedApart() {
        List<Stat> a = stats("23:addr tcp:127.0.0.1:21211", "23:state conn_listening", "24:addr tcp:127.0.0.1:36638",
                "24:state conn_parse_cmd");
        List<Stat> b = stats("23:addr tcp:127.0.0.1:21212", "23:state conn_listening");
        assertEquals(stats("1:addr tcp:127.0.0.1:21211", "1:state conn_listening", "2:addr tcp:127.0.0.1:36638",
                "2:state conn_parse_cmd", "3:addr tcp:127.0.0.1:21212", "3:state conn_listening"),
                StatsMerge.conns(List.of(a, b)));
    }

    @Test
    void detailDumpSumsByPrefix() {
        String a = "PREFIX foo get 1 hit 1 set 1 del 1\r\nPREFIX bar get 1 hit 0 set 0 del 0\r\nEND\r\n";
        String b = "PREFIX bar get 2 hit 2 set 5 del 0\r\nPREFIX baz get 0 hit 0 set 1 del 0\r\nEND\r\n";
        assertEquals("PREFIX foo get 1 hit 1 set 1 del 1\r\nPREFIX bar get 3 hit 2 set 5 del 0\r\n"
                + "PREFIX baz get 0 hit 0 set 1 del 0\r\nEND\r\n", StatsMerge.detailDump(List.of(a, b)));
        assertEquals("END\r\n", StatsMerge.detailDump(List.of()));
    }
}
