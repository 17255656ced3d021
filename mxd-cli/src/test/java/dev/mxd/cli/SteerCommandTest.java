package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code steer} in-process on the small stand-in encoder and the three-language lines of {@link ProbeCommandTest}. */
class SteerCommandTest {
    @TempDir
    Path tmp;

    private static String[] run(int expected, Callable<Integer> command, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = new CommandLine(command);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((ex, c, parsed) -> {
            err.write("mxd: " + Main.describe(ex) + "\n");
            return 1;
        });
        assertEquals(expected, cli.execute(args), out + "\n" + err);
        return new String[] {out.toString(), err.toString()};
    }

    private static SteerCommand steer() {
        return new SteerCommand(ProbeCommandTest.sources(), LinguaLabeler::new);
    }

    @Test
    void textModeReportsTheMoveAndTheNearestHeldOutDocuments() throws Exception {
        List<Path> models = ProbeCommandTest.harvestAndModels(tmp);
        String data = tmp.resolve("acts").toString();
        String text = "the parliament must vote today on this report";
        String zero = run(0, steer(), "--model", models.get(0).toString(), "--data", data, "--text", text,
                "--expert", "3", "--value", "0")[0];
        assertTrue(zero.contains("cosine(steered, unsteered splice) 1.000000"), zero);
        assertTrue(zero.contains("nearest of ") && zero.contains("before") && zero.contains("after"), zero);
        String moved = run(0, steer(), "--model", models.get(0).toString(), "--data", data, "--text", text,
                "--expert", "3", "--value", "40")[0];
        double cos = Double.parseDouble(moved.replaceAll("(?s).*cosine\\(steered, unsteered splice\\) ([0-9.]+).*", "$1"));
        assertTrue(cos < 0.9999, moved);
        // set to 0 of an expert: the TC runs the same way
        run(0, steer(), "--model", models.get(1).toString(), "--data", data, "--text", text, "--expert", "47",
                "--value", "0", "--mode", "set");

        String[] bad = run(1, steer(), "--model", models.get(0).toString(), "--data", data, "--text", text,
                "--expert", "40", "--value", "1");
        assertTrue(bad[1].startsWith("mxd: steering expert 40 is out of range [0, 40)") && bad[1].lines().count() == 1,
                bad[1]);
        bad = run(1, steer(), "--model", models.get(0).toString(), "--data", data, "--text", text, "--expert", "1",
                "--value", "1", "--mode", "multiply");
        assertTrue(bad[1].contains("--mode must be add or set"), bad[1]);
    }

    @Test
    void theExperimentWritesTableJsonAndPlotForTheModelAndTheTcOfItsK() throws Exception {
        List<Path> models = ProbeCommandTest.harvestAndModels(tmp);
        Path data = tmp.resolve("acts");
        StringWriter probeOut = new StringWriter();
        CommandLine probe = new CommandLine(new ProbeCommand(ProbeCommandTest.sources(), LinguaLabeler::new));
        probe.setOut(new PrintWriter(probeOut, true));
        probe.setErr(new PrintWriter(new StringWriter(), true));
        assertEquals(0, probe.execute("--data", data.toString(), "--models", models.get(0).toString(),
                models.get(1).toString(), "--json", "--min-docs", "3"));
        Path probes = tmp.resolve("probes.json");
        Files.writeString(probes, probeOut.toString());
        Path out = tmp.resolve("steer/steer.json");
        String[] r = run(0, steer(), "--model", models.get(0).toString(), "--data", data.toString(), "--probes",
                probes.toString(), "--out", out.toString(), "--values", "0,10,40");
        assertTrue(r[0].contains("Steering trade-off") && r[0].contains("mxd-k4") && r[0].contains("tc-k4"), r[0]);
        JsonNode o = new ObjectMapper().readTree(Files.readString(out));
        assertTrue(o.get("labels").asText().startsWith("detected by Lingua"));
        assertEquals(2, o.get("models").size());
        assertEquals(List.of("mxd", "tc"), List.of(o.get("models").get(0).get("kind").asText(),
                o.get("models").get(1).get("kind").asText()));
        JsonNode probed = new ObjectMapper().readTree(probeOut.toString());
        for (int m = 0; m < 2; m++) {
            JsonNode points = o.get("models").get(m).get("points");
            List<String> langs = new ArrayList<>();
            for (JsonNode p : points) {
                String lang = p.get("language").asText();
                assertFalse(lang.equals("en"), "English is the steered text, not a target");
                assertEquals(probed.get("models").get(m).get("per_language").get(lang).get("best_expert").asInt(),
                        p.get("expert").asInt(), "the expert with the best probe F1");
                if (p.get("value").asDouble() == 0) {
                    assertEquals(0, p.get("delta_cosine_toward").asDouble(), 0);
                    assertEquals(1, p.get("cosine_to_unsteered").asDouble(), 1e-6);
                }
                langs.add(lang);
            }
            assertEquals(List.of("de", "de", "de", "fr", "fr", "fr"), langs);
        }
        BufferedImage png = ImageIO.read(tmp.resolve("steer/steer.png").toFile());
        assertEquals(1000, png.getWidth());
        String[] bad = run(1, steer(), "--model", models.get(0).toString(), "--data", data.toString(), "--probes",
                probes.toString());
        assertTrue(bad[1].contains("needs --out FILE"), bad[1]);
    }
}
