package dev.mxd.explore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Codes;
import dev.mxd.text.experts.ExpertStatistics;
import dev.mxd.text.experts.TopContexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The atlas of the files of ./mxd stats and ./mxd top --all. */
class ExpertAtlasTest {
    @TempDir
    Path tmp;

    /** Expert 1 fires at 0.5 and 2.0, expert 2 at 3.0; expert 0 never fires. */
    static ExpertStatistics stats() {
        ExpertStatistics.Accumulator acc = ExpertStatistics.accumulator(3);
        Codes codes = Codes.onHeap(2, 1);
        codes.set(0, 0, 1, 0.5f);
        codes.set(1, 0, 1, 2.0f);
        acc.accept(0, codes);
        Codes more = Codes.onHeap(1, 1);
        more.set(0, 0, 2, 3.0f);
        acc.accept(2, more);
        return acc.finish(Map.of());
    }

    Path top(int experts) throws Exception {
        StringBuilder b = new StringBuilder("{\"format\": \"" + TopContexts.FORMAT + "\", \"experts\": " + experts
                + "}\n");
        b.append("{\"expert\": 0, \"frequency\": 0, \"count\": 0, \"examples\": [], \"samples\": []}\n");
        b.append("{\"expert\": 1, \"frequency\": 0.6667, \"count\": 2, \"examples\": [{\"doc\": 4, \"pos\": 2,"
                + " \"token\": 2054, \"value\": 2.0, \"context\": {\"before\": \"The <b>\", \"text\": \"vote\","
                + " \"after\": \"</b> today\"}}], \"samples\": [{\"doc\": 5, \"pos\": 1, \"token\": 7, \"value\": 0.5,"
                + " \"quantile\": 0.3, \"context\": null}]}\n");
        if (experts == 3) {
            b.append("{\"expert\": 2, \"frequency\": 0.3333, \"count\": 1, \"examples\": [], \"samples\": []}\n");
        }
        Path file = tmp.resolve("top" + experts + ".jsonl");
        Files.writeString(file, b);
        return file;
    }

    @Test
    void expertsJoinTheirStatisticsAndContexts() throws Exception {
        Atlas atlas = ExpertAtlas.of("m", stats(), TopContexts.read(top(3)));
        assertEquals(3, atlas.experts());
        assertEquals(3, atlas.tokens());
        assertEquals(ExpertStatistics.BINS + 1, atlas.binEdges().length);
        Atlas.Expert dead = atlas.expert(0);
        assertEquals(0, dead.count());
        assertEquals(0, dead.mean(), "no NaN for an expert that never fired");
        assertEquals(0, dead.max());
        Atlas.Expert one = atlas.expert(1);
        assertEquals(2, one.count());
        assertEquals(1.25, one.mean(), 1e-6);
        assertEquals(2.0, one.max(), 1e-6);
        assertEquals(2, java.util.Arrays.stream(one.histogram()).sum());
        Atlas.Example x = one.top().getFirst();
        assertEquals("The <b>vote</b> today", x.text());
        assertEquals("vote", x.text().substring(x.start(), x.end()));
        assertEquals("", x.note());
        Atlas.Example s = one.samples().getFirst();
        assertEquals("token 7", s.text(), "an example without text names its token");
        assertEquals("quantile 0.3", s.note());
    }

    @Test
    void filesOfDifferentModelsAreRefused() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ExpertAtlas.of("m", stats(), TopContexts.read(top(2))));
        assertTrue(e.getMessage().contains("hold 2 experts but the statistics 3"), e.getMessage());
    }
}
