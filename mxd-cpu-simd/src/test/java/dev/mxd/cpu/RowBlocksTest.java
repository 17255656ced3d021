package dev.mxd.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The cut of a GEMM's rows into blocks ({@link BlockedGemm.RowBlocks}): a partition, within its bounds. */
class RowBlocksTest {
    /**
     * Over row counts from 1 to past many blocks, register panels of 1 to 12 rows and 1 to 3 participants: the
     * blocks are non-empty, contiguous and cover [0, M) once, each within {@code maxRows()} (and so within the
     * packed scratch of {@code paddedRows()}), starting on a panel boundary; where there are enough panels, as many
     * blocks as a multiple of the participants.
     */
    @Test
    void blocksPartitionTheRowsWithinTheirBound() {
        for (int participants = 1; participants <= 3; participants++) {
            for (int mr : new int[] {1, 4, 12}) {
                for (int total = 1; total <= 1300; total += total < 100 ? 1 : 37) {
                    BlockedGemm.RowBlocks plan = BlockedGemm.RowBlocks.of(total, 192, mr, participants);
                    String where = "M " + total + ", mr " + mr + ", participants " + participants;
                    assertEquals(0, plan.row0(0), where);
                    int next = 0;
                    for (int b = 0; b < plan.blocks(); b++) {
                        assertEquals(next, plan.row0(b), where + ", block " + b);
                        assertEquals(0, plan.row0(b) % mr, where + ", block " + b + " starts off a panel");
                        assertTrue(plan.rows(b) > 0, where + ", block " + b + " is empty");
                        assertTrue(plan.rows(b) <= plan.maxRows(), where + ", block " + b + " is too tall");
                        next += plan.rows(b);
                    }
                    assertEquals(total, next, where + ": the blocks do not cover the rows");
                    assertTrue(plan.paddedRows() >= plan.maxRows() && plan.paddedRows() % mr == 0, where);
                    if (plan.panels() >= participants) {
                        assertEquals(0, plan.blocks() % participants, where + ": not a multiple of the participants");
                    }
                }
            }
        }
    }
}
