package dev.magent.core;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerDomainSocketChannel;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The socket implementation every proxy channel uses, client and backend alike: Linux io_uring, Linux
 * epoll, or Java NIO. Each one is an event-loop group and its channel classes; {@link #select} decides
 * which one a {@link TransportChoice} gets.
 */
public enum Transport {
    IO_URING,
    EPOLL,
    NIO;

    /**
     * The buffer allocator of every proxy channel: Netty's pooled allocator with per-thread caches, not
     * Netty 4.2's default adaptive one. The proxy allocates a short-lived buffer or two per request on
     * every event loop; under the load benchmark the adaptive allocator's shared magazines and queues cost
     * about 6 us of CPU per request more (23.4 against 17.3 us, docs/benchmarks.md).
     */
    public static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

    /** The transport used and why, for the start-up log line. */
    public record Selection(Transport transport, String reason) {
    }

    /**
     * Whether the kernel and the native libraries allow a native transport: null when they do, else why
     * not. The real one asks Netty; tests give their own.
     */
    public interface Availability {
        Throwable ioUringUnavailable();

        Throwable epollUnavailable();

        /** What Netty finds on this machine (loading the native libraries on first use). */
        Availability NATIVE = new Availability() {
            @Override
            public Throwable ioUringUnavailable() {
                return IoUring.unavailabilityCause();
            }

            @Override
            public Throwable epollUnavailable() {
                return Epoll.unavailabilityCause();
            }
        };
    }

    /** How logs, {@code stats} and /metrics name it: {@code io_uring}, {@code epoll}, {@code nio}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The transport a choice gets. {@link TransportChoice#AUTO} takes the first of io_uring, epoll and NIO
     * that the kernel allows; a named one is used or refused, never swapped silently for another (an
     * operator who asks for io_uring and gets epoll would measure the wrong thing).
     *
     * @throws IllegalStateException when the named transport is unavailable, with the kernel's reason
     */
    public static Selection select(TransportChoice choice, Availability availability) {
        return switch (choice) {
            case AUTO -> {
                Throwable noUring = availability.ioUringUnavailable();
                if (noUring == null) {
                    yield new Selection(IO_URING, "auto: io_uring is available");
                }
                Throwable noEpoll = availability.epollUnavailable();
                if (noEpoll == null) {
                    yield new Selection(EPOLL, "auto: io_uring unavailable (" + why(noUring) + ")");
                }
                yield new Selection(NIO, "auto: io_uring unavailable (" + why(noUring) + "), epoll unavailable ("
                        + why(noEpoll) + ")");
            }
            case IO_URING -> named(IO_URING, availability.ioUringUnavailable());
            case EPOLL -> named(EPOLL, availability.epollUnavailable());
            case NIO -> new Selection(NIO, "asked for nio");
        };
    }

    private static Selection named(Transport transport, Throwable unavailable) {
        if (unavailable != null) {
            throw new IllegalStateException("transport " + transport.wireName() + " is unavailable here: "
                    + why(unavailable) + " (--transport auto takes the best one available)");
        }
        return new Selection(transport, "asked for " + transport.wireName());
    }

    /** The root cause's message: Netty wraps the kernel's refusal (e.g. io_uring_setup's EPERM) in layers. */
    private static String why(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return m.replaceAll("\\s*\\R\\s*", " ");
    }

    EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = switch (this) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    Class<? extends ServerChannel> serverChannel() {
        return switch (this) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
        };
    }

    Class<? extends ServerChannel> serverDomainChannel() {
        return switch (this) {
            case IO_URING -> IoUringServerDomainSocketChannel.class;
            case EPOLL -> EpollServerDomainSocketChannel.class;
            case NIO -> NioServerDomainSocketChannel.class;
        };
    }

    /** A unix socket's address in the form this transport's channels take. */
    SocketAddress domainAddress(Path path) {
        return this == NIO ? UnixDomainSocketAddress.of(path) : new DomainSocketAddress(path.toFile());
    }

    public Class<? extends Channel> clientChannel() {
        return switch (this) {
            case IO_URING -> IoUringSocketChannel.class;
            case EPOLL -> EpollSocketChannel.class;
            case NIO -> NioSocketChannel.class;
        };
    }
}
