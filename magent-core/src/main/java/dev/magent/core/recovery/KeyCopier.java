package dev.magent.core.recovery;

import dev.magent.core.backend.BackendServer;
import dev.magent.core.backend.Backends;
import dev.magent.core.backend.PendingReply;
import dev.magent.core.backend.WriteFences;
import dev.magent.core.route.ReadRepair;
import dev.magent.protocol.Command;
import dev.magent.protocol.DeleteCommand;
import dev.magent.protocol.MetaGetCommand;
import dev.magent.protocol.Reply;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.StorageCommand;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.CompletableFuture;

/**
 * Recovery's copy of one key, read-repair's {@code mg <key> v f t} + {@code add} ({@link ReadRepair#parse},
 * {@link ReadRepair#add}) sent through the ungated send contract: the resync and the hint replay write to
 * a server before it is back in service. Counts into the target's {@link ResyncProgress}.
 */
final class KeyCopier {
    private final Backends backends;
    private final WriteFences fences;

    KeyCopier(Backends backends, WriteFences fences) {
        this.backends = backends;
        this.fences = fences;
    }

    /**
     * Copies one key from source to target; completes with true when the key is settled (copied, gone
     * from the source, or already on the target), false when a copy failed or was cancelled: a client
     * wrote, deleted or flushed the key after the read, so the value read is the past ({@link WriteFences});
     * the caller tries again (by then the source has the write) or leaves it to the hint replay.
     */
    CompletableFuture<Boolean> copy(BackendServer source, BackendServer target, byte[] key, boolean countFailure) {
        ResyncProgress p = target.resyncProgress();
        WriteFences.Fence fence = fences.before(key, System.currentTimeMillis());
        return send(source, new MetaGetCommand(key, ReadRepair.VALUE_FLAGS_TTL_CAS)).thenCompose(r -> {
            ReadRepair.Fetched f = ReadRepair.parse(key, r, source);
            if (f == null) {
                p.countSkipped(); // gone from the source meanwhile (or unreadable): not resurrected
                return CompletableFuture.completedFuture(true);
            }
            StorageCommand add = ReadRepair.add(f.value(), f.remainingTtl());
            long sourceCas = f.value().casUnique();
            f.value().data().release();
            if (add == null) {
                p.countSkipped(); // about to expire
                return CompletableFuture.completedFuture(true);
            }
            if (!fences.holds(fence, System.currentTimeMillis())) {
                add.release();
                p.countCancelled();
                return CompletableFuture.completedFuture(false);
            }
            return send(target, add).thenCompose(stored -> {
                boolean added = stored == StatusReply.STORED;
                ReferenceCountUtil.release(stored);
                if (added && !fences.holds(fence, System.currentTimeMillis())) {
                    // the write may have reached the target before the add: take the add back
                    p.countCancelled();
                    return takeBack(target, key);
                }
                if (added) {
                    return stillOnSource(source, key, sourceCas).thenCompose(still -> {
                        if (still) {
                            p.countCopied();
                            return CompletableFuture.completedFuture(true);
                        }
                        // another proxy wrote or deleted the key on both copies meanwhile (its fences are its
                        // own): what was copied is the past, and the target may already have the new state
                        p.countCancelled();
                        return takeBack(target, key);
                    });
                } else {
                    p.countSkipped(); // already there: written since the server returned
                }
                return CompletableFuture.completedFuture(true);
            });
        }).exceptionally(f -> {
            if (countFailure) {
                p.countFailed();
            }
            return false;
        });
    }

    /** Deletes what a copy added that turned out to be the past; completes with false (not settled). */
    private CompletableFuture<Boolean> takeBack(BackendServer target, byte[] key) {
        return send(target, new DeleteCommand(key, false)).thenApply(d -> {
            ReferenceCountUtil.release(d);
            return false;
        });
    }

    /**
     * Whether the source still holds the value that was copied (the same cas unique). A write or delete
     * through another proxy reaches the source and the target alike; one that reached the target before
     * the copy's add (which then filled the gap it left) has reached the source by now, or is about to.
     */
    private CompletableFuture<Boolean> stillOnSource(BackendServer source, byte[] key, long cas) {
        if (cas == dev.magent.protocol.Value.NO_CAS) {
            return CompletableFuture.completedFuture(true);
        }
        return send(source, new MetaGetCommand(key, java.util.List.of("c"))).handle((r, f) -> {
            boolean same = r instanceof dev.magent.protocol.MetaReply m && m.hit()
                    && Long.toUnsignedString(cas).equals(m.flag('c'));
            ReferenceCountUtil.release(r);
            return same || f != null; // unreadable now: keep the copy, as before this check
        });
    }

    /** Sends whatever the server's state. */
    CompletableFuture<Reply> send(BackendServer server, Command c) {
        PendingReply reply = new PendingReply();
        backends.backend(server).send(c, reply);
        return reply;
    }
}
