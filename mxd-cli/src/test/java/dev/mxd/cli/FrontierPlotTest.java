package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The frontier plot draws a bar of ± one sd on a point measured over seeds, and none on a single-seed point. */
class FrontierPlotTest {
    @TempDir
    Path dir;

    @Test
    void aSpreadOverSeedsIsDrawnAsABarAndOneSeedDrawsNone() throws Exception {
        int[] oneSeed = draw("one.png", Double.NaN);
        int[] noSpread = draw("zero.png", 0);
        int[] spread = draw("spread.png", 0.02);
        assertArrayEquals(oneSeed, noSpread, "one seed (sd NaN) is drawn as no spread");
        assertFalse(Arrays.equals(noSpread, spread), "a spread is drawn");
    }

    private int[] draw(String name, double sd) throws Exception {
        List<FrontierPlot.Point> points = List.of(
                new FrontierPlot.Point("mxd", 16, 0.17, sd, 0.99), new FrontierPlot.Point("mxd", 32, 0.16, sd, 0.99),
                new FrontierPlot.Point("tc", 16, 0.36, sd, 0.98), new FrontierPlot.Point("tc", 32, 0.31, sd, 0.98));
        Path file = dir.resolve(name);
        FrontierPlot.write(file, "test", points, 400, 300);
        BufferedImage image = ImageIO.read(file.toFile());
        assertEquals(400, image.getWidth());
        return image.getRGB(0, 0, 400, 300, null, 0, 400);
    }
}
