package dev.mxd.text.minilm;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.mxd.text.minilm.onnx.OnnxSubset.GraphProto;
import dev.mxd.text.minilm.onnx.OnnxSubset.ModelProto;
import dev.mxd.text.minilm.onnx.OnnxSubset.NodeProto;
import dev.mxd.text.minilm.onnx.OnnxSubset.TensorProto;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The float tensors of an ONNX model file, found the way the graph uses them: named initializers by name
 * ({@code encoder.layer.3.intermediate.dense.bias}), unnamed ones (the MatMul weights of a PyTorch export) through
 * the node that consumes them ({@code /encoder/layer.3/intermediate/dense/MatMul}), and the scalar constants a
 * decomposed operation computes with (a LayerNorm's epsilon, attention's divisor) through the node they feed.
 *
 * <p>Only the fields of {@code src/main/proto/onnx_subset.proto} are parsed. The tensors' bytes stay referenced
 * by this object (about the size of the file) until it is dropped; every accessor returns a new array.
 */
final class OnnxWeights {
    /** ONNX {@code TensorProto.DataType.FLOAT}. */
    private static final int FLOAT = 1;

    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final Map<String, NodeProto> nodesByName = new HashMap<>();
    /** The node producing each value, for constants. */
    private final Map<String, NodeProto> producers = new HashMap<>();

    private OnnxWeights(GraphProto graph) {
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        for (NodeProto n : graph.getNodeList()) {
            nodesByName.put(n.getName(), n);
            for (String out : n.getOutputList()) {
                producers.put(out, n);
            }
        }
    }

    /**
     * Parses an ONNX model.
     *
     * @param model the bytes of a {@code .onnx} file (weights inside it, not external data)
     * @throws IllegalArgumentException when the bytes are not an ONNX model with a graph
     */
    static OnnxWeights parse(byte[] model) {
        Objects.requireNonNull(model, "model");
        ModelProto proto;
        try {
            proto = ModelProto.parseFrom(model);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("not an ONNX model: " + e.getMessage(), e);
        }
        if (!proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            throw new IllegalArgumentException("not an ONNX model: no graph (ModelProto field 7) with nodes in "
                    + model.length + " bytes");
        }
        return new OnnxWeights(proto.getGraph());
    }

    /**
     * A named float initializer.
     *
     * @param dims the shape it must have
     * @return its values, row-major
     * @throws IllegalArgumentException naming the tensor when it is missing, not float or of another shape
     */
    float[] tensor(String name, long... dims) {
        TensorProto t = initializers.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the ONNX model has no initializer '" + name + "'");
        }
        return floats(t, "initializer '" + name + "'", dims);
    }

    /**
     * The weight a MatMul node multiplies by: its second input, an initializer named or unnamed.
     *
     * @param node e.g. {@code /encoder/layer.0/attention/self/query/MatMul}
     * @param dims the shape it must have ([inputs, outputs]: x·W)
     * @throws IllegalArgumentException naming the node or tensor when either is missing or the shape differs
     */
    float[] matMulWeight(String node, long... dims) {
        NodeProto n = node(node, "MatMul");
        if (n.getInputCount() != 2) {
            throw new IllegalArgumentException("ONNX node '" + node + "' has " + n.getInputCount()
                    + " inputs, expected 2");
        }
        String weight = n.getInput(1);
        TensorProto t = initializers.get(weight);
        if (t == null) {
            throw new IllegalArgumentException("the weight '" + weight + "' of ONNX node '" + node
                    + "' is not an initializer");
        }
        return floats(t, "initializer '" + weight + "' (the weight of node '" + node + "')", dims);
    }

    /**
     * The scalar float constant a node takes as one of its inputs, from a {@code Constant} node or an initializer.
     *
     * @param node   e.g. {@code /embeddings/LayerNorm/Add} (whose second input is the epsilon)
     * @param opType the operation the node must be, e.g. {@code Add}
     * @throws IllegalArgumentException naming the node when it is missing, of another type, or that input is not a
     *                                  scalar float constant
     */
    float scalarInput(String node, String opType, int input) {
        NodeProto n = node(node, opType);
        if (input >= n.getInputCount()) {
            throw new IllegalArgumentException("ONNX node '" + node + "' has no input " + input);
        }
        String value = n.getInput(input);
        TensorProto t = initializers.get(value);
        if (t == null) {
            NodeProto producer = producers.get(value);
            if (producer != null && producer.getOpType().equals("Constant")) {
                t = producer.getAttributeList().stream().filter(a -> a.getName().equals("value") && a.hasT())
                        .map(a -> a.getT()).findFirst().orElse(null);
            }
        }
        if (t == null) {
            throw new IllegalArgumentException("input " + input + " ('" + value + "') of ONNX node '" + node
                    + "' is not a constant");
        }
        return floats(t, "input " + input + " ('" + value + "') of ONNX node '" + node + "'")[0];
    }

    private NodeProto node(String name, String opType) {
        NodeProto n = nodesByName.get(name);
        if (n == null) {
            throw new IllegalArgumentException("the ONNX model has no node '" + name + "'");
        }
        if (!n.getOpType().equals(opType)) {
            throw new IllegalArgumentException("ONNX node '" + name + "' is a " + n.getOpType() + ", expected "
                    + opType);
        }
        return n;
    }

    /** The values of a float tensor of the given shape (of any single value when no dims are given). */
    private static float[] floats(TensorProto t, String what, long... dims) {
        if (t.getDataType() != FLOAT) {
            throw new IllegalArgumentException(what + " has ONNX data type " + t.getDataType() + ", expected "
                    + FLOAT + " (float32)");
        }
        List<Long> shape = t.getDimsList();
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        if (dims.length == 0 ? count != 1 : !Arrays.equals(shape.stream().mapToLong(Long::longValue).toArray(), dims)) {
            throw new IllegalArgumentException(what + " has shape " + shape + ", expected "
                    + (dims.length == 0 ? "a single value" : Arrays.toString(dims)));
        }
        if (count > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(what + " has " + count + " values, more than a Java array holds");
        }
        float[] values = new float[(int) count];
        ByteString raw = t.getRawData();
        if (!raw.isEmpty()) {
            if (raw.size() != count * Float.BYTES) {
                throw new IllegalArgumentException(what + " has " + raw.size() + " bytes of raw_data, expected "
                        + count * Float.BYTES);
            }
            FloatBuffer fb = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            fb.get(values);
        } else if (t.getFloatDataCount() == count) {
            for (int i = 0; i < values.length; i++) {
                values[i] = t.getFloatData(i);
            }
        } else {
            throw new IllegalArgumentException(what + " holds " + t.getFloatDataCount() + " float_data values and no"
                    + " raw_data, expected " + count + " values");
        }
        return values;
    }
}
