package dev.magent.core.admin;

import dev.magent.core.MagentProxy;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one admin request per {@link FullHttpRequest}. Shared by every admin connection: it holds nothing
 * but the proxy. Keep-alive and {@code Connection: close} are handled by Netty's
 * {@code HttpServerKeepAliveHandler} before it.
 */
@ChannelHandler.Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    private static final String JSON = "application/json; charset=utf-8";
    private static final String TEXT = "text/plain; charset=utf-8";

    private final MagentProxy proxy;

    AdminHandler(MagentProxy proxy) {
        this.proxy = proxy;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (request.decoderResult().isFailure()) {
            respond(ctx, request, HttpResponseStatus.BAD_REQUEST, TEXT, bytes("bad request\n"), true);
            return;
        }
        String path = new QueryStringDecoder(request.uri()).path();
        boolean known = path.equals("/health") || path.equals("/stats") || path.equals("/metrics");
        if (!known) {
            respond(ctx, request, HttpResponseStatus.NOT_FOUND, TEXT,
                    bytes("not found: " + path + " (try /health, /stats, /metrics)\n"), false);
            return;
        }
        if (!request.method().equals(HttpMethod.GET)) {
            FullHttpResponse r = response(HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT,
                    bytes(request.method() + " not allowed: " + path + " answers GET only\n"));
            r.headers().set(HttpHeaderNames.ALLOW, "GET");
            send(ctx, request, r, false);
            return;
        }
        switch (path) {
            case "/health" -> {
                HealthCheck check = HealthCheck.of(proxy.servers());
                respond(ctx, request, check.healthy() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                        JSON, StatsSnapshot.json(check), false);
            }
            case "/stats" -> respond(ctx, request, HttpResponseStatus.OK, JSON, StatsSnapshot.of(proxy).toJson(), false);
            default -> respond(ctx, request, HttpResponseStatus.OK, PrometheusText.CONTENT_TYPE,
                    bytes(ProxyMetrics.render(proxy)), false);
        }
    }

    private static void respond(ChannelHandlerContext ctx, FullHttpRequest request, HttpResponseStatus status,
                                String contentType, byte[] body, boolean close) {
        send(ctx, request, response(status, contentType, body), close);
    }

    private static FullHttpResponse response(HttpResponseStatus status, String contentType, byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        HttpUtil.setContentLength(r, body.length);
        return r;
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest request, FullHttpResponse response,
                             boolean close) {
        if (close) {
            // a request that could not be decoded leaves the stream at an unknown place: end it
            HttpUtil.setKeepAlive(response, false);
        }
        response.setProtocolVersion(request.protocolVersion());
        ctx.writeAndFlush(response);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("admin connection {} closed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
