package dev.mxd.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import dev.mxd.text.harvest.FakeText;
import dev.mxd.text.harvest.TextSource;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Sources made from a name and a way to open them ({@link TextSources#of}). */
class TextSourcesTest {

    @Test
    void eachOpenLoadsAFreshSource() throws Exception {
        AtomicInteger opened = new AtomicInteger();
        TextSources sources = TextSources.of(FakeText.MODEL, () -> {
            opened.incrementAndGet();
            return FakeText.source(3, 16);
        });
        assertEquals(FakeText.MODEL, sources.model());
        assertEquals(0, opened.get(), "nothing is loaded before open");
        try (TextSource a = sources.open(); TextSource b = sources.open()) {
            assertNotSame(a, b);
            assertEquals(FakeText.MODEL, a.model());
        }
        assertEquals(2, opened.get());
    }
}
