package dev.magent.core.backend;

import dev.magent.protocol.Reply;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.CompletableFuture;

/** A future that is its own {@link Completion}: for the paths that compose several requests. */
public final class PendingReply extends CompletableFuture<Reply> implements Completion {
    @Override
    public void accept(Reply reply, Throwable failure) {
        if (failure != null) {
            completeExceptionally(failure);
        } else if (!complete(reply)) {
            ReferenceCountUtil.release(reply); // completed already (cancelled): nobody else will
        }
    }
}
