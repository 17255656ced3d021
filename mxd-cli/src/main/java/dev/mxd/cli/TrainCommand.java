package dev.mxd.cli;

import dev.mxd.Activation;
import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.Kind;
import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.train.ActivationDirectory;
import dev.mxd.train.Metrics;
import dev.mxd.train.ReferenceInit;
import dev.mxd.train.Trainer;
import dev.mxd.train.TrainingCheckpoint;
import dev.mxd.train.TrainingKernels;
import dev.mxd.train.TrainingListener;
import dev.mxd.train.TrainingOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains an MxD, TC or STC on the activation pairs of DIR/train (DESIGN §2, §4).",
                "Writes OUTDIR/mxd.safetensors and OUTDIR/cfg.json (the config with every training setting used);"
                        + " with --checkpoint-every, OUTDIR/" + TrainCommand.CHECKPOINT + " (model, AdamW state,"
                        + " data position), which --resume continues from bit-identically (same settings and"
                        + " -Dmxd.threads)."})
final class TrainCommand implements Callable<Integer> {
    static final String CHECKPOINT = "checkpoint.safetensors";

    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR",
            description = "Activation directory: DIR/train/*.safetensors (and DIR/eval) holding x [T, I] and t [T, O].")
    Path data;

    @Option(names = "--kind", required = true, paramLabel = "mxd|tc|stc", description = "Layer kind.")
    String kind;

    @Option(names = "--k", required = true, paramLabel = "K", description = "Active experts (TC: hidden units) per token.")
    int k;

    @Option(names = "--out", required = true, paramLabel = "OUTDIR", description = "Output directory (created).")
    Path out;

    @Option(names = "--hidden", paramLabel = "H",
            description = "Hidden width d_sae (default: MxD 4·I, the width of a GPT-2 MLP; TC/STC --tc-width·I).")
    Integer hidden;

    @Option(names = "--experts", paramLabel = "N",
            description = "Experts of an MxD (default: the N giving the parameter count of a TC of width --tc-width·I).")
    Integer experts;

    @Option(names = "--tc-width", paramLabel = "M", defaultValue = "8",
            description = "TC width as a multiple of I, for the default N and a TC's default H (default: ${DEFAULT-VALUE}).")
    int tcWidth;

    @Option(names = "--activation", paramLabel = "NAME", defaultValue = "gelu",
            description = "relu, gelu, gelu_pytorch_tanh, sigmoid or silu (default: ${DEFAULT-VALUE}).")
    String activation;

    @Option(names = "--glu", description = "Add a GLU branch.")
    boolean glu;

    @Option(names = "--skip", description = "Add a skip connection (always on for an STC).")
    boolean skip;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "4e-4", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--schedule", paramLabel = "NAME", defaultValue = "constantwithwarmup",
            description = "constant, constantwithwarmup, linearwarmupdecay, cosineannealing, cosineannealingwarmup or"
                    + " cosineannealingwarmrestarts (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup", paramLabel = "STEPS", description = "Warm-up steps (default: 5 % of the steps).")
    Long warmup;

    @Option(names = "--batch", paramLabel = "TOKENS", defaultValue = "4096", description = "Tokens per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--tokens", paramLabel = "TOKENS",
            description = "Training tokens in all (default: one pass over DIR/train, rounded down to whole batches).")
    Long tokens;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "42",
            description = "Seed of the initialisation and the shuffle (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "0",
            description = "Write OUTDIR/" + CHECKPOINT + " every this many steps (default: never).")
    int checkpointEvery;

    @Option(names = "--resume", description = "Continue from OUTDIR/" + CHECKPOINT + " (same settings as the interrupted run).")
    boolean resume;

    @Option(names = "--stop-after", paramLabel = "STEPS",
            description = "Stop after this many steps of this invocation, writing OUTDIR/" + CHECKPOINT
                    + " to continue from with --resume (for runs in slices).")
    Long stopAfter;

    @Option(names = "--eval-every", paramLabel = "STEPS", defaultValue = "0",
            description = "Evaluate on DIR/eval every this many steps (default: only at the end, when DIR/eval has tokens).")
    int evalEvery;

    @Option(names = "--eval-tokens", paramLabel = "TOKENS", defaultValue = "0",
            description = "At most this many DIR/eval tokens per evaluation (default: all).")
    long evalTokens;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, reference or auto (default: -Dmxd.backend, else $MXD_BACKEND, else auto; auto trains"
                    + " on cpu when the backend it picks does not train).")
    String backend;

    /** The backend whose kernels train (auto may settle on cpu). */
    private Backend trainedOn;

    @Override
    public Integer call() throws Exception {
        PrintWriter log = spec.commandLine().getOut();
        try (ActivationDirectory dir = ActivationDirectory.open(data)) {
            MxdConfig cfg = config(dir.inputDim(), dir.outputDim());
            long total = tokens != null ? tokens : dir.train().tokens();
            TrainingOptions.Builder b = TrainingOptions.builder(batch, total).lr(lr).schedule(schedule).seed(seed)
                    .evaluation(evalEvery, evalTokens);
            if (warmup != null) {
                b.warmupSteps(warmup);
            }
            Path checkpoint = out.resolve(CHECKPOINT);
            if (stopAfter != null && stopAfter < 1) {
                throw new IllegalArgumentException("--stop-after must be >= 1, got " + stopAfter);
            }
            if (checkpointEvery > 0 || resume || stopAfter != null) {
                b.checkpoints(checkpointEvery, checkpoint);
            }
            TrainingOptions options = b.build();
            MxdConfig annotated = options.annotate(cfg);
            String name = backend != null ? backend : Backends.requestedName(System::getProperty, System::getenv);
            Backend chosen = Backends.select(name);
            Files.createDirectories(out);
            try (MxdModel model = resume ? MxdModel.zeros(TrainingCheckpoint.config(checkpoint))
                    : ReferenceInit.create(annotated, options.decoderNorm(cfg.kind()), seed);
                 TrainingKernels kernels = kernels(chosen, name, model);
                 Trainer trainer = new Trainer(kernels, dir, options, new Progress(log, options))) {
                if (resume) {
                    trainer.restore(checkpoint);
                }
                MxdConfig c = model.config();
                log.printf(Locale.ROOT, "mxd train: %s I=%d H=%d O=%d%s K=%d %s%s%s, %,d parameters; %,d steps of %,d"
                                + " tokens, lr %.3g %s (warm-up %d), seed %d; backend %s (%s)%s%n",
                        c.kind(), c.inputDim(), c.hiddenDim(), c.outputDim(),
                        c.kind() == Kind.MXD ? " N=" + c.experts() : "", c.k(), c.activation().referenceName(),
                        c.glu() ? " glu" : "", c.skip() ? " skip" : "", c.parameterCount(), options.steps(),
                        options.batchTokens(), options.lr(), schedule, options.warmupSteps(), seed,
                        trainedOn.name(), trainedOn.availability().detail(), resume ? "; resumed at step " + trainer.step() : "");
                trainer.runSteps(stopAfter != null ? stopAfter : options.steps());
                if (trainer.step() < options.steps()) {
                    trainer.checkpoint(checkpoint);
                    log.printf("stopped at step %,d of %,d: continue with the same options and --resume (%s)%n",
                            trainer.step(), options.steps(), checkpoint);
                    return 0;
                }
                ModelFiles.save(model, out);
                if (dir.eval().tokens() > 0) {
                    Metrics.Summary s = trainer.evaluate();
                    log.printf(Locale.ROOT, "eval (%,d tokens): loss %.5g  FVU %.4f  NMSE %.4f  L0 %.2f  dead %.2f%%%n",
                            s.tokens(), s.loss(), s.fvu(), s.nmse(), s.l0(), 100 * s.deadFraction());
                }
                log.printf("wrote %s and %s%n", out.resolve(ModelFiles.WEIGHTS_FILE), out.resolve("cfg.json"));
            }
        }
        return 0;
    }

    /** The layer's config from the options and the data's widths. */
    private MxdConfig config(int in, int outDim) {
        Kind kd = switch (kind.toLowerCase(Locale.ROOT)) {
            case "mxd" -> Kind.MXD;
            case "tc" -> Kind.TC;
            case "stc" -> Kind.STC;
            default -> throw new IllegalArgumentException("--kind must be mxd, tc or stc, got '" + kind + "'");
        };
        if (tcWidth < 1) {
            throw new IllegalArgumentException("--tc-width must be >= 1, got " + tcWidth);
        }
        Activation act = Activation.parse(activation);
        int h = hidden != null ? hidden : (kd == Kind.MXD ? 4 * in : tcWidth * in);
        return switch (kd) {
            case MXD -> MxdConfig.mxd(in, h, experts != null ? experts
                    : MxdConfig.equalParameterExperts(in, h, outDim, tcWidth * in, glu), outDim, k, act, glu, skip);
            case TC -> {
                if (skip) {
                    throw new IllegalArgumentException("a TC with --skip is an STC: use --kind stc");
                }
                yield MxdConfig.transcoder(in, h, outDim, k, act, glu);
            }
            case STC -> MxdConfig.skipTranscoder(in, h, outDim, k, act, glu);
        };
    }

    /**
     * The training kernels of the backend asked for; {@code auto} settles on cpu when its pick (a GPU backend) does
     * not train, an explicit name never falls back.
     */
    private TrainingKernels kernels(Backend chosen, String name, MxdModel model) {
        trainedOn = chosen;
        var k = chosen.training(model);
        if (k.isEmpty() && Backends.AUTO.equals(name)) {
            trainedOn = Backends.select("cpu");
            k = trainedOn.training(model);
        }
        return k.orElseThrow(() -> new IllegalArgumentException("backend " + chosen.name()
                + " does not train; train with --backend cpu (or reference, exact and slow)"));
    }

    /**
     * The live progress line: rewritten in place on a terminal, else printed at most once every ten seconds and at
     * the last step.
     */
    private static final class Progress implements TrainingListener {
        private final PrintWriter out;
        private final boolean terminal = System.console() != null;
        private final int batch;
        private long lastPrinted;

        Progress(PrintWriter out, TrainingOptions options) {
            this.out = out;
            this.batch = options.batchTokens();
        }

        @Override
        public void onStep(StepReport r) {
            long now = System.nanoTime();
            boolean last = r.step() == r.steps();
            if (!last && now - lastPrinted < (terminal ? 200_000_000L : 10_000_000_000L) && r.step() > 1) {
                return;
            }
            lastPrinted = now;
            double eta = r.tokensPerSecond() > 0 ? (r.steps() - r.step()) * (double) batch / r.tokensPerSecond() : 0;
            Metrics.Summary m = r.batch();
            String line = String.format(Locale.ROOT,
                    "step %,d/%,d  %,.0f tok/s  ETA %s  loss %.5g  FVU %.4f  L0 %.2f  dead %.2f%%  lr %.3g",
                    r.step(), r.steps(), r.tokensPerSecond(), duration(eta), m.loss(), m.fvu(), m.l0(),
                    100 * r.deadFraction(), r.lr());
            if (terminal) {
                out.print("\r" + line + "\u001b[K" + (last ? "\n" : ""));
                out.flush();
            } else {
                out.println(line);
            }
        }

        @Override
        public void onEvaluation(long step, Metrics.Summary s) {
            out.printf(Locale.ROOT, "%seval at step %,d (%,d tokens): loss %.5g  FVU %.4f  NMSE %.4f  L0 %.2f  dead %.2f%%%n",
                    terminal ? "\r\u001b[K" : "", step, s.tokens(), s.loss(), s.fvu(), s.nmse(), s.l0(),
                    100 * s.deadFraction());
        }

        @Override
        public void onCheckpoint(long step, Path file) {
            if (!terminal) {
                out.printf("checkpoint at step %,d: %s%n", step, file);
            }
        }

        private static String duration(double seconds) {
            long s = Math.round(seconds);
            return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
        }
    }
}
