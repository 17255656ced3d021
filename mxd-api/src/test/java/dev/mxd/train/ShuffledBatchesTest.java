package dev.mxd.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ShuffledBatchesTest {
    private static final int ROWS = 103;

    /** x row r is (r, −r), t row r is (r + 0.5). */
    private static ActivationSource source() {
        float[] x = new float[ROWS * 2];
        float[] t = new float[ROWS];
        for (int r = 0; r < ROWS; r++) {
            x[2 * r] = r;
            x[2 * r + 1] = -r;
            t[r] = r + 0.5f;
        }
        return ActivationSource.inMemory(2, 1, x, t, new float[0], new float[0]);
    }

    private static long[] rows(ShuffledBatches b, int batches, int size) {
        long[] all = new long[batches * size];
        for (int i = 0; i < batches; i++) {
            ShuffledBatches.Batch batch = b.next(size);
            for (int r = 0; r < size; r++) {
                long row = batch.rows()[r];
                assertEquals(row, (long) batch.x()[2 * r]);
                assertEquals(-row, (long) batch.x()[2 * r + 1]);
                assertEquals(row + 0.5f, batch.t()[r]);
            }
            System.arraycopy(batch.rows(), 0, all, i * size, size);
        }
        return all;
    }

    @Test
    void everyEpochVisitsEveryRowOnceWithWindowsSmallerThanTheSplit() {
        ShuffledBatches b = new ShuffledBatches(source().train(), 2, 1, 9, 0, 4, 3, true);
        long[] seq = rows(b, 2 * ROWS / 7 + 1, 7);
        for (int epoch = 0; epoch < 2; epoch++) {
            long[] e = Arrays.copyOfRange(seq, epoch * ROWS, (epoch + 1) * ROWS);
            long[] sorted = e.clone();
            Arrays.sort(sorted);
            for (int r = 0; r < ROWS; r++) {
                assertEquals(r, sorted[r], "epoch " + epoch);
            }
            boolean inOrder = true;
            for (int r = 0; r < ROWS; r++) {
                inOrder &= e[r] == r;
            }
            assertFalse(inOrder, "epoch " + epoch + " was not shuffled");
        }
        assertFalse(Arrays.equals(Arrays.copyOfRange(seq, 0, ROWS), Arrays.copyOfRange(seq, ROWS, 2 * ROWS)),
                "two epochs in the same order");
    }

    @Test
    void theOrderIsAFunctionOfSeedAndPosition() {
        long[] straight = rows(new ShuffledBatches(source().train(), 2, 1, 5, 0, 8, 2, true), 40, 5);
        long[] resumed = rows(new ShuffledBatches(source().train(), 2, 1, 5, 85, 8, 2, true), 23, 5);
        assertArrayEquals(Arrays.copyOfRange(straight, 85, 200), resumed);
        long[] other = rows(new ShuffledBatches(source().train(), 2, 1, 6, 0, 8, 2, true), 40, 5);
        assertFalse(Arrays.equals(straight, other));
    }

    @Test
    void inOrderReadsRowsInOrder() {
        long[] seq = rows(new ShuffledBatches(source().train(), 2, 1, 5, 0, 8, 2, false), 30, 5);
        for (int i = 0; i < seq.length; i++) {
            assertEquals(i % ROWS, seq[i]);
        }
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new ShuffledBatches(
                ActivationSource.inMemory(2, 1, new float[0], new float[0], new float[0], new float[0]).train(),
                2, 1, 1, 0, 4, 4, true));
        assertThrows(IllegalArgumentException.class, () -> new ShuffledBatches(source().train(), 2, 1, 1, 0, 0, 4, true));
        assertThrows(IllegalArgumentException.class,
                () -> ActivationSource.inMemory(2, 1, new float[4], new float[3], new float[0], new float[0]));
    }
}
