package dev.magent.core.backend;

import dev.magent.protocol.Reply;
import io.netty.util.ReferenceCountUtil;
import java.util.function.BiConsumer;

/**
 * Where one request's outcome goes: a reply, which the receiver owns and must release, or a failure
 * ({@link BackendException} from the backend side). Called once, on the event loop of the connection
 * that carried the request; possibly before {@code send} returns, when the request fails at once.
 *
 * <p>The hot paths hand one of these straight to the backend connection instead of chaining futures: a
 * get or a set then costs one small callback object instead of four or five futures and lambdas. It is a
 * {@link BiConsumer} so that a {@code CompletableFuture} can complete one with {@code whenComplete}.
 */
public interface Completion extends BiConsumer<Reply, Throwable> {

    /** Releases whatever reply comes: for {@code noreply} requests and redundant copies. */
    Completion DISCARD = (reply, failure) -> ReferenceCountUtil.release(reply);

    /**
     * The outcome.
     *
     * @param reply   the reply, or null when the request failed
     * @param failure why it failed, or null
     */
    @Override
    void accept(Reply reply, Throwable failure);
}
