package dev.mxd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Activation;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} at random points of {@code train}, {@code convert} and {@code harvest}, each a child JVM: after
 * every kill whatever stands under a final name loads (the checkpoint, the model, the activation directory), and a
 * training restarted with {@code --resume} after each kill ends on the bits of the run never interrupted.
 *
 * <p>The suite kills a few times; {@code ./mxd stress} sets {@value #KILLS_PROPERTY} (100 training kills, 20 of
 * convert, 10 of harvest). The kill delay is drawn from zero to 1.2 times the uninterrupted run's
 * wall time, so kills land in the JVM's start, in steps, in checkpoint writes and in the final save alike.
 */
class KillAndResumeIT {
    /** Training kills to survive; convert gets a fifth of it (at least 2), harvest a tenth (at least 1). */
    static final String KILLS_PROPERTY = "mxd.stress.kills";

    private static final int KILLS = Integer.getInteger(KILLS_PROPERTY, 3);
    private static final long SEED = Long.getLong("mxd.stress.seed", System.nanoTime());

    @TempDir
    Path dir;

    private final SplittableRandom random = new SplittableRandom(SEED);

    private record Outcome(boolean killed, int exit, String err) {
    }

    /** Starts {@code args}, kills it after {@code delayMillis} unless it ended first. */
    private Outcome runOrKill(List<String> args, long delayMillis) throws IOException, InterruptedException {
        Path err = dir.resolve("child.err");
        Process p = new ProcessBuilder(CliIT.jarCommand(args.toArray(String[]::new)))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        boolean ended = p.waitFor(delayMillis, TimeUnit.MILLISECONDS);
        if (!ended) {
            p.destroyForcibly();   // SIGKILL on Linux: no shutdown hook, no finally
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not end: " + args);
        return new Outcome(!ended, p.exitValue(), Files.readString(err));
    }

    private long timedRun(List<String> args) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Outcome o = runOrKill(args, TimeUnit.MINUTES.toMillis(10));
        assertEquals(0, o.exit(), o.err());
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    @Test
    void trainingKilledAtRandomResumesToTheUninterruptedWeights() throws Exception {
        Path data = CliIT.writeActivations(dir.resolve("acts"), 1000, 0, false);
        Path straight = dir.resolve("straight");
        String[] opts = {"--tokens", "1280", "--checkpoint-every", "1"};
        long wall = timedRun(List.of(CliIT.trainArgs(data, straight, opts)));
        int kills = 0, runs = 0, completed = 0;
        while (kills < KILLS) {
            Path out = dir.resolve("killed-" + completed);
            while (true) {
                List<String> args = new ArrayList<>(List.of(CliIT.trainArgs(data, out, opts)));
                if (Files.exists(out.resolve(LayerTraining.CHECKPOINT))) {
                    args.add("--resume");
                }
                runs++;
                Outcome o = runOrKill(args, random.nextLong(wall * 6 / 5 + 1));
                if (!o.killed()) {
                    assertEquals(0, o.exit(), "seed " + SEED + ": " + o.err());
                    break;
                }
                kills++;
                checkLoadable(out);
            }
            assertSameWeights(straight.resolve("mxd.safetensors"), out.resolve("mxd.safetensors"));
            completed++;
        }
        System.out.printf("kill -9 of train: %d kills survived in %d runs, %d trainings resumed to the uninterrupted"
                + " bits (seed %d)%n", kills, runs, completed, SEED);
    }

    /** What a kill may leave under the final names: a whole checkpoint, a whole model, or nothing. */
    private static void checkLoadable(Path out) throws IOException {
        Path checkpoint = out.resolve(LayerTraining.CHECKPOINT);
        if (Files.exists(checkpoint)) {
            TrainingCheckpoint.config(checkpoint);
        }
        if (Files.exists(out.resolve(ModelFiles.WEIGHTS_FILE)) || Files.exists(out.resolve("cfg.json"))) {
            ModelFiles.load(out).close();
        }
    }

    private static void assertSameWeights(Path expected, Path actual) throws IOException {
        try (SafetensorsFile a = SafetensorsFile.open(expected); SafetensorsFile b = SafetensorsFile.open(actual)) {
            assertEquals(a.names(), b.names());
            for (String n : a.names()) {
                assertEquals(-1L, a.tensor(n).data().mismatch(b.tensor(n).data()), n + " differs after kills and resumes");
            }
        }
    }

    @Test
    void convertKilledAtRandomLeavesNothingHalfWritten() throws Exception {
        Path model = dir.resolve("model");
        try (MxdModel m = MxdModel.random(MxdConfig.mxd(384, 96, 256, 384, 8, Activation.GELU, false, false), 3)) {
            ModelFiles.save(m, model);   // about 38 MB: the write takes long enough to be killed in
        }
        Path out = dir.resolve("converted");
        long wall = timedRun(List.of("convert", model.toString(), out.toString()));
        ModelFiles.load(out).close();
        int kills = 0;
        for (int i = 0; kills < Math.max(2, KILLS / 5); i++) {
            Path target = dir.resolve("convert-" + i);
            Outcome o = runOrKill(List.of("convert", model.toString(), target.toString()), random.nextLong(wall + 1));
            if (o.killed()) {
                kills++;
            } else {
                assertEquals(0, o.exit(), o.err());
            }
            if (Files.exists(target.resolve(ModelFiles.WEIGHTS_FILE)) || Files.exists(target.resolve("cfg.json"))) {
                ModelFiles.load(target).close();
            }
        }
        System.out.printf("kill -9 of convert: %d kills, no half-written file (seed %d)%n", kills, SEED);
    }

    @Test
    void harvestKilledAtRandomLeavesNoPartialDirectory() throws Exception {
        List<String> args = List.of("harvest", "--layer", "3", "--tokens", "200", "--shard-tokens", "64");
        Path first = dir.resolve("harvest");
        long wall = timedRun(concat(args, "--out", first.toString()));
        ActivationDirectory.open(first).close();
        int kills = 0;
        for (int i = 0; kills < Math.max(1, KILLS / 10); i++) {
            Path target = dir.resolve("harvest-" + i);
            Outcome o = runOrKill(concat(args, "--out", target.toString()), random.nextLong(wall + 1));
            if (o.killed()) {
                kills++;
            } else {
                assertEquals(0, o.exit(), o.err());
            }
            if (Files.exists(target)) {
                assertTrue(Files.exists(target.resolve("manifest.json")), "a harvest without its manifest: " + target);
                ActivationDirectory.open(target).close();
            }
        }
        System.out.printf("kill -9 of harvest: %d kills, no partial directory (seed %d)%n", kills, SEED);
    }

    private static List<String> concat(List<String> a, String... more) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(more));
        return all;
    }
}
