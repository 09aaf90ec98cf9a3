package dev.magent.core.backend;

import dev.magent.core.recovery.HintLog;
import dev.magent.protocol.Command;
import dev.magent.protocol.RetrievalCommand;
import dev.magent.protocol.Verb;
import io.netty.util.ReferenceCountUtil;

/**
 * A server's backend as client requests see it: a request the server is out of service for (down, or
 * syncing for reads and client writes), or whose key the server holds a stale copy of (hinted: the
 * server counts as down for that key), fails at once instead of being sent. While a resync copies keys
 * to the server every write sent here is hinted too, so a write racing the copy is rewritten afterwards.
 * Looks the pool up at each send, so a reload's new pools are used at once.
 */
public final class GatedBackend implements Backend {
    private final BackendServer server;
    private final Backends pools;

    public GatedBackend(BackendServer server, Backends pools) {
        this.server = server;
        this.pools = pools;
    }

    @Override
    public void send(Command command, Completion completion) {
        Verb.Intent intent = command.verb().intent();
        boolean inService = intent == Verb.Intent.READ ? server.servesReads() : server.takesWrites();
        if (!inService) {
            ReferenceCountUtil.release(command);
            completion.accept(null, server.downException());
            return;
        }
        byte[] key = null;
        HintLog hints = server.hints();
        if (!hints.isEmpty()) {
            key = command instanceof RetrievalCommand r && r.keys().size() == 1 ? r.keys().get(0)
                    : CommandKeys.keyOf(command); // a multi-key retrieval's keys are placed one by one (MultiGet)
            if (key != null && hints.contains(key)) {
                ReferenceCountUtil.release(command);
                completion.accept(null, server.staleException());
                return;
            }
        }
        if (intent == Verb.Intent.WRITE && server.recordingWrites()) {
            byte[] written = key != null ? key : CommandKeys.keyOf(command);
            if (written != null) {
                hints.record(written);
            }
        }
        pools.backend(server).send(command, completion);
    }
}
