package dev.mxd.train;

import dev.mxd.MxdConfig;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.ConfigJson;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.SafetensorsFile;
import dev.mxd.checkpoint.SafetensorsWriter;
import dev.mxd.tensor.DType;
import dev.mxd.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training checkpoint (DESIGN §4): one safetensors file, written atomically, holding
 * <ul>
 *   <li>every tensor of the model under its own name (F32), {@code b_dec} and extra tensors included;</li>
 *   <li>AdamW's moments of each trainable parameter as {@code <name>.adam_m} and {@code <name>.adam_v} (F32);</li>
 *   <li>the dead-expert counters as {@code dead.last_fired} [N] (I64; [H] for a TC or STC);</li>
 *   <li>in {@code __metadata__}: {@code format} ({@value #FORMAT}), {@code cfg} (the config JSON, as
 *       {@code cfg.json}), {@code step}, {@code adam_step}, {@code data_position} (training tokens read),
 *       {@code dead_tokens_seen}, {@code seed} and {@code rng} (the shuffle's state: it is a function of the
 *       seed and the data position, so these two are the whole RNG state), and {@code options} (the run's
 *       settings as JSON, checked on resume).</li>
 * </ul>
 */
public final class TrainingCheckpoint {
    /** The value of the {@code format} metadata key. */
    public static final String FORMAT = "mxd-training-checkpoint/1";
    static final String DEAD = "dead.last_fired";

    private TrainingCheckpoint() {
    }

    /** What a checkpoint holds besides tensors that are restored in place. */
    record State(long step, long adamStep, long dataPosition, long deadTokensSeen, long[] lastFired) {
    }

    /**
     * The config of a training checkpoint, to allocate the model to restore into
     * ({@code MxdModel.zeros(TrainingCheckpoint.config(file))}).
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException when it is not a training checkpoint or its config is malformed
     */
    public static MxdConfig config(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return config(f);
        }
    }

    private static MxdConfig config(SafetensorsFile f) {
        Map<String, String> meta = f.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IllegalArgumentException(f.path() + " is not a training checkpoint: __metadata__.format is "
                    + meta.get("format") + ", expected " + FORMAT);
        }
        String cfg = meta.get("cfg");
        if (cfg == null) {
            throw new IllegalArgumentException(f.path() + ": __metadata__ has no 'cfg'");
        }
        return ConfigJson.parse(cfg, f.path() + " __metadata__.cfg");
    }

    /**
     * Writes a checkpoint of {@code model}'s tensors and AdamW's moments {@code m}, {@code v} (checkpoint layout,
     * e.g. exported from the kernels), after {@code adamSteps} updates.
     */
    static void write(Path file, MxdModel model, ParameterTensors m, ParameterTensors v, long adamSteps,
                      TrainingOptions options, long step, long dataPosition, DeadExperts dead) throws IOException {
        MxdConfig cfg = model.config();
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>(model.tensors());
            for (String name : m.names()) {
                tensors.put(name + ".adam_m", m.tensor(name));
                tensors.put(name + ".adam_v", v.tensor(name));
            }
            long[] fired = dead.lastFired();
            MemorySegment counters = arena.allocate((long) fired.length * 8, 8);
            for (int n = 0; n < fired.length; n++) {
                counters.setAtIndex(Tensor.I64_LE, n, fired[n]);
            }
            tensors.put(DEAD, new Tensor(DType.I64, new long[] {fired.length}, counters));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", FORMAT);
            meta.put("cfg", ConfigJson.toJson(options.annotate(cfg)));
            meta.put("step", Long.toString(step));
            meta.put("adam_step", Long.toString(adamSteps));
            meta.put("data_position", Long.toString(dataPosition));
            meta.put("dead_tokens_seen", Long.toString(dead.tokensSeen()));
            meta.put("seed", Long.toString(options.seed()));
            meta.put("rng", "shuffle of seed " + options.seed() + " at data_position " + dataPosition);
            meta.put("options", Json.writeCompact(options.referenceFields(cfg.kind())));
            SafetensorsWriter.write(file, tensors, meta);
        }
    }

    /**
     * Checks the whole file against the model and the options, then copies the model's tensors and AdamW's
     * moments out of it into {@code model}, {@code firstMoments} and {@code secondMoments}; on any error nothing
     * has been changed.
     */
    static State read(Path file, MxdModel model, ParameterTensors firstMoments, ParameterTensors secondMoments,
                      TrainingOptions options) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            MxdConfig saved = config(f);
            MxdConfig cfg = model.config();
            if (!saved.tensorShapes().keySet().equals(cfg.tensorShapes().keySet()) || saved.kind() != cfg.kind()
                    || saved.k() != cfg.k() || saved.activation() != cfg.activation()
                    || !sameShapes(saved, cfg)) {
                throw new IllegalArgumentException(file + " was written for a " + describe(saved)
                        + ", not this " + describe(cfg));
            }
            checkOptions(file, f.metadata().get("options"), options.referenceFields(cfg.kind()));
            Map<String, String> meta = f.metadata();
            long step = number(file, meta, "step");
            long adamStep = number(file, meta, "adam_step");
            long position = number(file, meta, "data_position");
            long seen = number(file, meta, "dead_tokens_seen");
            if (position != step * options.batchTokens()) {
                throw new IllegalArgumentException(file + ": data_position " + position + " is not step " + step
                        + " × batch " + options.batchTokens());
            }
            Map<String, Tensor> params = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : model.tensors().entrySet()) {
                params.put(e.getKey(), require(f, e.getKey(), DType.F32, e.getValue().shape()));
            }
            Map<String, Tensor> m = new LinkedHashMap<>();
            Map<String, Tensor> v = new LinkedHashMap<>();
            for (String name : firstMoments.names()) {
                long[] shape = firstMoments.tensor(name).shape();
                m.put(name, require(f, name + ".adam_m", DType.F32, shape));
                v.put(name, require(f, name + ".adam_v", DType.F32, shape));
            }
            Tensor deadT = require(f, DEAD, DType.I64, new long[] {cfg.codeSpace()});
            long[] fired = new long[cfg.codeSpace()];
            for (int n = 0; n < fired.length; n++) {
                fired[n] = deadT.data().getAtIndex(Tensor.I64_LE, n);
                if (fired[n] < 0 || fired[n] > seen) {
                    throw new IllegalArgumentException(file + ": " + DEAD + "[" + n + "] = " + fired[n]
                            + " is outside [0, dead_tokens_seen = " + seen + "]");
                }
            }
            copy(m, firstMoments);
            copy(v, secondMoments);
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                MemorySegment dst = model.tensor(e.getKey()).data();
                MemorySegment.copy(e.getValue().data(), 0, dst, 0, dst.byteSize());
            }
            return new State(step, adamStep, position, seen, fired);
        }
    }

    private static void copy(Map<String, Tensor> from, ParameterTensors to) {
        for (String name : to.names()) {
            MemorySegment dst = to.tensor(name).data();
            MemorySegment.copy(from.get(name).data(), 0, dst, 0, dst.byteSize());
        }
    }

    private static boolean sameShapes(MxdConfig a, MxdConfig b) {
        for (Map.Entry<String, long[]> e : a.tensorShapes().entrySet()) {
            if (!Arrays.equals(e.getValue(), b.tensorShapes().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static String describe(MxdConfig c) {
        return c.kind() + " (I " + c.inputDim() + ", H " + c.hiddenDim() + ", O " + c.outputDim() + ", N "
                + c.experts() + ", K " + c.k() + ", " + c.activation().referenceName() + (c.glu() ? ", GLU" : "")
                + (c.skip() ? ", skip" : "") + ")";
    }

    private static void checkOptions(Path file, String savedJson, Map<String, Object> current) {
        if (savedJson == null) {
            throw new IllegalArgumentException(file + ": __metadata__ has no 'options'");
        }
        Map<String, Object> saved = Json.parseObject(savedJson, file + ": __metadata__.options");
        // Compared as text: a number written from a long or a float reads back as an Integer or a Double.
        for (Map.Entry<String, Object> e : current.entrySet()) {
            String now = String.valueOf(e.getValue());
            String then = saved.containsKey(e.getKey()) ? String.valueOf(saved.get(e.getKey())) : null;
            if (!now.equals(then)) {
                throw new IllegalArgumentException(file + " was written by a run with " + e.getKey() + " = "
                        + (then == null ? "(absent)" : then) + ", this run has " + now
                        + ": a resumed run must use the same settings to continue the same run");
            }
        }
    }

    private static long number(Path file, Map<String, String> meta, String key) {
        String s = meta.get(key);
        try {
            long v = Long.parseLong(s);
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(file + ": __metadata__." + key + " = " + s + " is not a count >= 0");
    }

    private static Tensor require(SafetensorsFile f, String name, DType dtype, long[] shape) {
        if (!f.contains(name)) {
            throw new IllegalArgumentException(f.path() + " has no tensor '" + name + "'");
        }
        Tensor t = f.tensor(name);
        if (t.dtype() != dtype || !t.hasShape(shape)) {
            throw new IllegalArgumentException(f.path() + ": tensor '" + name + "' is " + t + ", expected " + dtype
                    + Arrays.toString(shape));
        }
        return t;
    }
}
