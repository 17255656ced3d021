package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class FloatArraysTest {
    @Test
    void reusesTheSmallestFittingArrayAndNeverAWastefulOne() {
        FloatArrays.clear();
        float[] small = new float[100], medium = new float[1000], large = new float[100_000];
        FloatArrays.give(large);
        FloatArrays.give(small);
        FloatArrays.give(medium);
        assertSame(medium, FloatArrays.take(600), "smallest that fits");
        assertSame(small, FloatArrays.take(90));
        float[] fresh = FloatArrays.take(1000);
        assertNotSame(large, fresh, "a 100k array is not spent on 1k floats");
        assertEquals(1000, fresh.length);
        assertSame(large, FloatArrays.take(70_000));
        FloatArrays.clear();
        assertNotSame(large, FloatArrays.take(70_000), "forgotten after clear");
    }
}
