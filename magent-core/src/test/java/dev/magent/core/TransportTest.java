package dev.magent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How a {@link TransportChoice} becomes a {@link Transport}, on kernels that allow more or less. */
class TransportTest {
    private static final Throwable NO_URING = new IllegalStateException("failed to create io_uring",
            new RuntimeException("io_uring_setup(...) failed: Operation not permitted"));
    private static final Throwable NO_EPOLL = new UnsatisfiedLinkError("no netty_transport_native_epoll");

    private static Transport.Availability kernel(Throwable ioUring, Throwable epoll) {
        return new Transport.Availability() {
            @Override
            public Throwable ioUringUnavailable() {
                return ioUring;
            }

            @Override
            public Throwable epollUnavailable() {
                return epoll;
            }
        };
    }

    @Test
    void autoPrefersIoUring() {
        Transport.Selection s = Transport.select(TransportChoice.AUTO, kernel(null, null));
        assertEquals(Transport.IO_URING, s.transport());
        assertEquals("auto: io_uring is available", s.reason());
    }

    @Test
    void autoFallsBackToEpollAndSaysWhy() {
        Transport.Selection s = Transport.select(TransportChoice.AUTO, kernel(NO_URING, null));
        assertEquals(Transport.EPOLL, s.transport());
        // the kernel's refusal, not Netty's wrapper
        assertEquals("auto: io_uring unavailable (io_uring_setup(...) failed: Operation not permitted)", s.reason());
    }

    @Test
    void autoFallsBackToNioWhenNeitherNativeTransportLoads() {
        Transport.Selection s = Transport.select(TransportChoice.AUTO, kernel(NO_URING, NO_EPOLL));
        assertEquals(Transport.NIO, s.transport());
        assertTrue(s.reason().contains("epoll unavailable (no netty_transport_native_epoll)"), s.reason());
    }

    @Test
    void aNamedTransportIsUsedWhenAvailable() {
        assertEquals(Transport.IO_URING, Transport.select(TransportChoice.IO_URING, kernel(null, NO_EPOLL)).transport());
        assertEquals(Transport.EPOLL, Transport.select(TransportChoice.EPOLL, kernel(NO_URING, null)).transport());
        assertEquals(Transport.NIO, Transport.select(TransportChoice.NIO, kernel(null, null)).transport());
        assertEquals("asked for epoll", Transport.select(TransportChoice.EPOLL, kernel(null, null)).reason());
    }

    @Test
    void aNamedTransportTheKernelRefusesFailsStartUpInsteadOfFallingBack() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Transport.select(TransportChoice.IO_URING, kernel(NO_URING, null)));
        assertEquals("transport io_uring is unavailable here: io_uring_setup(...) failed: Operation not permitted"
                + " (--transport auto takes the best one available)", e.getMessage());
        assertThrows(IllegalStateException.class, () -> Transport.select(TransportChoice.EPOLL, kernel(null, NO_EPOLL)));
    }

    @Test
    void choicesParseAsWritten() {
        assertEquals(TransportChoice.IO_URING, TransportChoice.parse("io_uring"));
        assertEquals(TransportChoice.AUTO, TransportChoice.parse("AUTO"));
        assertEquals("io_uring", TransportChoice.IO_URING.wireName());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TransportChoice.parse("kqueue"));
        assertEquals("unknown transport 'kqueue': expected auto, io_uring, epoll or nio", e.getMessage());
    }

    @Test
    void theDefaultConfigurationAsksForAuto() {
        ProxyConfig c = ProxyConfig.builder().mains(java.util.List.of(ServerAddress.parse("127.0.0.1:11211"))).build();
        assertEquals(TransportChoice.AUTO, c.transport());
    }
}
