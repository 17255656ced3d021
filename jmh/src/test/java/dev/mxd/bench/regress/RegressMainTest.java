package dev.mxd.bench.regress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The comparison through the command's entry point, on recorded JMH results (src/test/resources/regress, made from
 * a real {@code --quick} run as its README says): what is flagged, what is not, and the exit codes.
 */
class RegressMainTest {
    @TempDir
    Path dir;

    /** What one command printed and returned. */
    record Outcome(int exitCode, String out, String err) {
        /** The table line of a score, e.g. {@code SgemmBenchmark.mxd size=1024 @cpu}. */
        String row(String key) {
            return out.lines().filter(l -> l.startsWith(key + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no row " + key + " in\n" + out));
        }
    }

    static Path resource(String name) {
        try {
            return Path.of(RegressMainTest.class.getResource("/regress/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource regress/" + name, e);
        }
    }

    static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RegressMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Outcome compare(String baseline, String now, String... more) {
        String[] args = new String[4 + more.length];
        args[0] = "--compare";
        args[1] = resource(baseline).toString();
        args[2] = "--input";
        args[3] = resource(now).toString();
        System.arraycopy(more, 0, args, 4, more.length);
        return run(args);
    }

    @Test
    void aTwentyPercentSlowdownWithTightSpreadIsFlagged() {
        Outcome o = compare("tight.json", "tight-slower20.json");
        assertEquals(1, o.exitCode(), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("REGRESSION"), o.out());
        assertTrue(o.row("GateTopKBenchmark.simd shape=small @opencl").contains("REGRESSION"), o.out());
        assertTrue(!o.out().contains("WARNING: another"), "same machine, same JDK: no such warning\n" + o.out());
        assertTrue(o.row("ForwardBenchmark.simd:tokens shape=small @cpu").contains("-20.0%"), o.out());
        assertTrue(o.row("ForwardBenchmark.simd:tokens shape=small @cpu").contains("REGRESSION"), o.out());
        assertTrue(o.out().contains("-> FAILED"), o.out());
    }

    @Test
    void aThreePercentWobbleWithinTheSpreadIsNot() {
        // significant for some scores (the spread is 3 %), but below the threshold
        Outcome o = compare("tight.json", "tight-wobble3.json");
        assertEquals(0, o.exitCode(), o.out());
        assertTrue(!o.out().contains("REGRESSION"), o.out());
        assertTrue(o.row("TrainBenchmark.step:tokens shape=small @cpu").contains("same"), o.out());
        assertTrue(o.out().contains("-> passed"), o.out());
    }

    @Test
    void aTwentyPercentSlowdownWithinAWideSpreadIsNotSignificant() {
        // wide.json ran on a loaded machine: its fork means spread by a factor of 1.5 (SGEMM) to 16 (training step)
        Outcome o = compare("wide.json", "wide-slower20.json");
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("slower, within noise"), o.out());
        assertTrue(o.row("TrainBenchmark.step:tokens shape=small @cpu").contains("slower, within noise"), o.out());
        assertTrue(o.row("ForwardBenchmark.simd shape=small @opencl").contains("slower, within noise"), o.out());
        assertTrue(!o.out().contains("REGRESSION"), o.out());
        assertEquals(0, o.exitCode(), o.out());
    }

    @Test
    void aSlowdownMadeOfSomeSlowForksIsWithinNoise() {
        // three of five forks ran 40 % slow, two as in the baseline: what JVMs disturbed by other processes look
        // like, not a change of the code. Over iterations (ten a side, two from each fork) the forward's scalar
        // path would read as significant (p = 0.006); over fork means it is not (p = 0.048).
        Outcome o = compare("tight.json", "tight-three-slow-forks.json");
        assertEquals(0, o.exitCode(), o.out());
        assertTrue(o.row("ForwardBenchmark.scalar shape=small @cpu").contains("-24.1%"), o.out());
        assertTrue(o.row("ForwardBenchmark.scalar shape=small @cpu").contains("0.0476"), o.out());
        assertTrue(o.row("ForwardBenchmark.scalar shape=small @cpu").contains("slower, within noise"), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("slower, within noise"), o.out());
        assertTrue(!o.out().contains("REGRESSION"), o.out());
    }

    @Test
    void oneForkASideCannotBeSignificantAndSaysSo() {
        // a plain JMH result of one fork: 20 % slower, but one fork mean a side can give no p below 0.5
        Outcome o = compare("tight-one-fork.json", "tight-one-fork-slower20.json");
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("too few forks"), o.out());
        assertTrue(o.out().contains("18 too few forks -> passed"), o.out());
        assertEquals(0, o.exitCode(), o.out());
    }

    @Test
    void aSlowdownUnderTheSameOtherLoadIsFlagged() {
        Outcome o = compare("tight-load.json", "tight-slower20-load.json");
        assertEquals(1, o.exitCode(), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("REGRESSION"), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").endsWith("0.2 -> 0.2"), o.out());
    }

    @Test
    void aSlowdownThatTheOtherLoadExplainsIsReportedButNotFlagged() {
        // other load 0.2 -> 1.0 on 2 cores: a 2-thread benchmark's share falls from 2/2.2 to 2/3, by 27 %
        Outcome o = compare("tight-load.json", "tight-slower20-busier.json");
        assertEquals(0, o.exitCode(), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("slower, machine busier"), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").endsWith("0.2 -> 1.0"), o.out());
        assertTrue(o.out().contains("18 slower, machine busier -> passed"), o.out());
    }

    @Test
    void aLargerThresholdLetsTheSlowdownPass() {
        Outcome o = compare("tight.json", "tight-slower20.json", "--threshold", "0.25");
        assertEquals(0, o.exitCode(), o.out());
        assertTrue(o.out().contains("worse by more than 25 %"), o.out());
    }

    @Test
    void aSlowerMachineIsFlaggedRawButItsNormalisedScoresHoldAndItsCpuIsAWarning() {
        // every score of the run 20 % lower, as on a slower machine: the calibrations fell as much
        Outcome o = compare("tight.json", "tight-slower-machine.json");
        assertEquals(1, o.exitCode(), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("REGRESSION"), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("+0.0% (vs openblas)"), o.out());
        assertTrue(o.row("ForwardBenchmark.simd shape=small @cpu").contains("+0.0% (vs scalar)"), o.out());
        assertTrue(o.out().contains("WARNING: another CPU: baseline AMD EPYC, this run Slower CPU"), o.out());
    }

    @Test
    void missingAndNewBenchmarksAreReported() {
        Outcome o = compare("tight.json", "tight-renamed.json");
        assertEquals(1, o.exitCode(), "a benchmark of the baseline that did not run fails the comparison\n" + o.out());
        assertTrue(o.row("TrainBenchmark.step shape=small @cpu").contains("MISSING in this run"), o.out());
        assertTrue(o.row("TrainBenchmark.step:tokens shape=small @cpu").contains("MISSING in this run"), o.out());
        assertTrue(o.row("TrainBenchmark.step shape=tiny @cpu").contains("new, no baseline"), o.out());
        assertTrue(o.out().contains("2 MISSING in this run, 2 new, no baseline"), o.out());
    }

    @Test
    void aBaselineFromAnotherJdkIsAWarningAndStillCompared() {
        Outcome o = compare("tight-jdk21.json", "tight.json");
        assertEquals(0, o.exitCode(), o.out());
        assertTrue(o.out().contains("WARNING: another JDK: baseline 21.0.5, this run 25.0.3"), o.out());
        assertTrue(o.row("SgemmBenchmark.mxd size=1024 @cpu").contains("same"), o.out());
    }

    @Test
    void malformedJsonIsAClearErrorWithExitCode2() {
        Outcome o = compare("tight.json", "truncated.json");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("truncated.json is not valid JSON"), o.err());
        assertTrue(o.err().contains("line "), o.err());
    }

    @Test
    void jsonThatIsNoRunIsAClearErrorWithExitCode2() throws IOException {
        Path notARun = Files.writeString(dir.resolve("other.json"), "{\"benchmarks\": []}");
        Outcome o = run("--compare", notARun.toString(), "--input", resource("tight.json").toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("is JSON but not a run"), o.err());

        Path noRaw = Files.writeString(dir.resolve("noraw.json"), "[{\"benchmark\": \"a.B.c\", \"mode\": \"thrpt\","
                + " \"primaryMetric\": {\"score\": 1.0, \"scoreUnit\": \"ops/s\"}}]");
        o = run("--compare", noRaw.toString(), "--input", resource("tight.json").toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("jmh[0] (a.B.c).primaryMetric has no \"rawData\""), o.err());

        Path emptyFork = Files.writeString(dir.resolve("emptyfork.json"), "[{\"benchmark\": \"a.B.c\", \"mode\":"
                + " \"thrpt\", \"primaryMetric\": {\"score\": 1.0, \"scoreUnit\": \"ops/s\", \"rawData\": [[1.0], []]}}]");
        o = run("--compare", emptyFork.toString(), "--input", resource("tight.json").toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("primaryMetric.rawData[1] is [], not a fork's list of iterations"), o.err());
    }

    @Test
    void aMissingBaselineFileIsExitCode2BeforeAnythingRuns() {
        Outcome o = run("--quick", "--compare", dir.resolve("nope.json").toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().contains("nope.json: no such file"), o.err());
    }

    @Test
    void usageErrorsAreExitCode2() {
        for (List<String> args : List.of(List.<String>of(), List.of("--quick", "--full"), List.of("--quick", "--bogus"),
                List.of("--quick", "--threshold", "ten"), List.of("--quick", "--threshold", "1.5"),
                List.of("--input", "x.json"), List.of("history"), List.of("--quick", "--compare"))) {
            Outcome o = run(args.toArray(String[]::new));
            assertEquals(2, o.exitCode(), args + ": " + o.err());
            assertTrue(o.err().contains("usage: ./mxd bench"), args + ": " + o.err());
        }
    }

    @Test
    void theHistoryIsPlottedOnePanelPerBenchmark() throws IOException {
        Path history = dir.resolve("history.jsonl");
        History.append(history, RunDocument.read(resource("tight.json")));
        History.append(history, RunDocument.read(resource("tight-slower20.json")));
        History.append(history, RunDocument.read(resource("tight-wobble3.json")));
        assertEquals(3, History.read(history).size());
        Path png = dir.resolve("plots/history.png");
        Outcome o = run("history", "--plot", png.toString(), "--history", history.toString());
        assertEquals(0, o.exitCode(), o.err());
        BufferedImage image = ImageIO.read(png.toFile());
        // tight.json holds 9 benchmarks (7 on the CPU backend, 2 on OpenCL): 3 panels a row, 3 rows
        assertTrue(o.out().contains("plotted 9 benchmarks over 3 runs"), o.out());
        assertEquals(3 * 520, image.getWidth());
        assertEquals(3 * 340, image.getHeight());
    }

    @Test
    void aMissingHistoryIsExitCode2() {
        Outcome o = run("history", "--plot", dir.resolve("h.png").toString(), "--history", dir.resolve("h").toString());
        assertEquals(2, o.exitCode());
        assertTrue(o.err().contains("no such history file"), o.err());
    }
}
