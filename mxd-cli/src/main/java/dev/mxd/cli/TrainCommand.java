package dev.mxd.cli;

import dev.mxd.Activation;
import dev.mxd.train.ActivationDirectory;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains an MxD, TC or STC on the activation pairs of DIR/train (safetensors shards holding x [T, I]"
                + " and t [T, O], as ./mxd harvest writes them): the layer learns to map each x to its t.",
                "Writes OUTDIR/mxd.safetensors and OUTDIR/cfg.json (the config with every training setting used);"
                        + " with --checkpoint-every, OUTDIR/" + LayerTraining.CHECKPOINT + " (model, AdamW state,"
                        + " data position), which --resume continues from bit-identically (same settings and"
                        + " -Dmxd.threads)."})
final class TrainCommand implements Callable<Integer> {
    /** The paper's batch size. */
    static final int DEFAULT_BATCH = 4096;
    /** The paper's learning rate for its smaller models. */
    static final double DEFAULT_LR = 4e-4;

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

    @Mixin
    OptimiserOptions optimiser;

    @Option(names = "--tokens", paramLabel = "TOKENS",
            description = "Training tokens in all (default: one pass over DIR/train, rounded down to whole batches).")
    Long tokens;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "0",
            description = "Write OUTDIR/" + LayerTraining.CHECKPOINT + " every this many steps (default: never).")
    int checkpointEvery;

    @Option(names = "--resume", description = "Continue from OUTDIR/" + LayerTraining.CHECKPOINT
            + " (same settings as the interrupted run).")
    boolean resume;

    @Option(names = "--stop-after", paramLabel = "STEPS",
            description = "Stop after this many steps of this invocation, writing OUTDIR/" + LayerTraining.CHECKPOINT
                    + " to continue from with --resume (for runs in slices).")
    Long stopAfter;

    @Option(names = "--eval-every", paramLabel = "STEPS", defaultValue = "0",
            description = "Evaluate on DIR/eval every this many steps (default: only at the end, when DIR/eval has tokens).")
    int evalEvery;

    @Option(names = "--eval-tokens", paramLabel = "TOKENS", defaultValue = "0",
            description = "At most this many DIR/eval tokens per evaluation (default: all).")
    long evalTokens;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, opencl, reference or auto (default: -Dmxd.backend, else $MXD_BACKEND, else auto; auto trains"
                    + " on an OpenCL GPU where one exists, else on cpu).")
    String backend;

    @Override
    public Integer call() throws Exception {
        LayerShape shape = new LayerShape(LayerShape.kind(kind), k, hidden, experts, tcWidth, Activation.parse(activation),
                glu, skip);
        LayerTraining.Slicing slicing = new LayerTraining.Slicing(checkpointEvery, resume, stopAfter);
        try (ActivationDirectory dir = ActivationDirectory.open(data)) {
            long total = tokens != null ? tokens : dir.train().tokens();
            LayerTraining.train(spec.commandLine().getOut(), dir, shape.config(dir.inputDim(), dir.outputDim()),
                    optimiser.builder(optimiser.batch(DEFAULT_BATCH), total, DEFAULT_LR).evaluation(evalEvery, evalTokens),
                    BackendOption.requested(backend), out, slicing, true);
        }
        return 0;
    }
}
