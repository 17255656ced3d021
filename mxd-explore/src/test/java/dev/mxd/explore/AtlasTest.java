package dev.mxd.explore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The atlases {@link Atlas#of} builds: from a list, and made on demand. */
class AtlasTest {
    private static final double[] EDGES = {0.1, 1, 10};

    private static Atlas.Expert expert(int id) {
        return new Atlas.Expert(id, id, id, id, new long[EDGES.length - 1], List.of(), List.of());
    }

    @Test
    void anAtlasMadeOnDemandAsksOnlyForTheExpertsWantedAndOnlyInRange() {
        List<Integer> asked = new ArrayList<>();
        double[] edges = EDGES.clone();
        Atlas atlas = Atlas.of("m", 4, 99, edges, n -> {
            asked.add(n);
            return expert(n);
        });
        edges[0] = -1;
        assertEquals("m", atlas.model());
        assertEquals(4, atlas.experts());
        assertEquals(99, atlas.tokens());
        assertArrayEquals(EDGES, atlas.binEdges(), "the edges are copied when the atlas is made");
        atlas.binEdges()[1] = -1;
        assertArrayEquals(EDGES, atlas.binEdges(), "and again when returned");
        assertEquals(List.of(), asked, "no expert is made before it is asked for");
        assertEquals(2, atlas.expert(2).id());
        assertThrows(IndexOutOfBoundsException.class, () -> atlas.expert(4));
        assertThrows(IndexOutOfBoundsException.class, () -> atlas.expert(-1));
        assertEquals(List.of(2), asked, "an index out of range reaches no expert");
    }

    @Test
    void anAtlasFromAListChecksItsExperts() {
        Atlas atlas = Atlas.of("m", 5, EDGES, List.of(expert(0), expert(1)));
        assertEquals(2, atlas.experts());
        assertEquals(1, atlas.expert(1).count());
        assertThrows(IndexOutOfBoundsException.class, () -> atlas.expert(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Atlas.of("m", 5, EDGES, List.of(expert(1))));
        assertEquals("expert at index 0 has id 1 and 2 bins; expected id 0 and 2", e.getMessage());
    }
}
