package dev.magent.core.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.magent.protocol.ErrorReply;
import dev.magent.protocol.Reply;
import dev.magent.protocol.ServerCommand;
import dev.magent.protocol.StatusReply;
import dev.magent.protocol.TextReply;
import dev.magent.protocol.Verb;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which admin commands the proxy refuses, and how the servers' answers to the others become one. */
class AdminCommandsTest {
    private static ServerCommand c(Verb verb, String... words) {
        return new ServerCommand(verb, List.of(words), false);
    }

    @Test
    void refusesWhatAProxyMustNotPassOnWithMemcachedsOwnWords() {
        assertEquals(ErrorReply.client("watch commands not allowed"), AdminCommands.refusal(c(Verb.WATCH)));
        assertEquals(TextReply.line("ERROR: shutdown not enabled"), AdminCommands.refusal(c(Verb.SHUTDOWN, "graceful")));
        assertEquals(new ErrorReply(ErrorReply.Kind.ERROR, "metadump not allowed"),
                AdminCommands.refusal(c(Verb.LRU_CRAWLER, "metadump", "all")));
        assertEquals(TextReply.line("Error TLS not enabled"), AdminCommands.refusal(c(Verb.REFRESH_CERTS)));
        // passed on: the servers answer
        assertNull(AdminCommands.refusal(c(Verb.LRU_CRAWLER, "metadump")));
        assertNull(AdminCommands.refusal(c(Verb.LRU_CRAWLER, "crawl", "all")));
        assertNull(AdminCommands.refusal(c(Verb.SLABS, "automove", "1")));
        assertNull(AdminCommands.refusal(c(Verb.CACHE_MEMLIMIT, "100")));
    }

    @Test
    void theCommonAnswerElseTheFirstThatIsNotOk() {
        Reply nospare = TextReply.line("NOSPARE source class has no spare pages");
        assertEquals(StatusReply.OK, AdminCommands.combine(new Reply[] {StatusReply.OK, StatusReply.OK, null}));
        assertEquals(nospare, AdminCommands.combine(new Reply[] {StatusReply.OK, nospare, StatusReply.OK}));
        assertEquals(ErrorReply.UNKNOWN_COMMAND,
                AdminCommands.combine(new Reply[] {null, ErrorReply.UNKNOWN_COMMAND, ErrorReply.UNKNOWN_COMMAND}));
        assertEquals(ErrorReply.server("no server available"), AdminCommands.combine(new Reply[] {null, null}));
        assertEquals(nospare, AdminCommands.combine(new Reply[] {nospare, TextReply.line("SAME src and dst class are identical")}));
    }
}
