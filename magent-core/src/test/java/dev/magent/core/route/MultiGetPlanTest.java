package dev.magent.core.route;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.magent.protocol.Keys;
import dev.magent.protocol.Value;
import dev.magent.protocol.ValuesReply;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.Test;

class MultiGetPlanTest {
    @Test
    void groupsPositionsByServerInFirstKeyOrder() {
        MultiGetPlan plan = MultiGetPlan.group(new int[] {2, 0, 2, -1, 1, 0}, 3);
        assertEquals(3, plan.groupCount());
        assertEquals(2, plan.server(0));
        assertArrayEquals(new int[] {0, 2}, plan.positions(0));
        assertEquals(0, plan.server(1));
        assertArrayEquals(new int[] {1, 5}, plan.positions(1));
        assertEquals(1, plan.server(2));
        assertArrayEquals(new int[] {4}, plan.positions(2));
    }

    @Test
    void noKeysNoGroups() {
        assertEquals(0, MultiGetPlan.group(new int[] {-1, -1}, 2).groupCount());
    }

    @Test
    void collectMatchesHitsInOrderAndReportsMisses() {
        List<byte[]> keys = List.of(Keys.of("a"), Keys.of("b"), Keys.of("c"), Keys.of("a"));
        Value[] into = new Value[4];
        ByteBuf a1 = Unpooled.copiedBuffer(new byte[] {1});
        ByteBuf a2 = Unpooled.copiedBuffer(new byte[] {2});
        ByteBuf stray = Unpooled.copiedBuffer(new byte[] {3});
        int[] misses = MultiGetPlan.collect(keys, new int[] {0, 1, 3},
                List.of(new Value(Keys.of("a"), 0, a1, Value.NO_CAS), new Value(Keys.of("a"), 0, a2, Value.NO_CAS),
                        new Value(Keys.of("zz"), 0, stray, Value.NO_CAS)), into);
        assertArrayEquals(new int[] {1}, misses);
        assertSame(a1, into[0].data());
        assertSame(a2, into[3].data());
        assertEquals(0, stray.refCnt(), "a value nobody asked for is released");
        ValuesReply merged = MultiGetPlan.merge(into);
        assertEquals(2, merged.values().size());
        assertSame(a1, merged.values().get(0).data());
        merged.release();
        assertSame(ValuesReply.EMPTY, MultiGetPlan.merge(new Value[3]));
    }
}
