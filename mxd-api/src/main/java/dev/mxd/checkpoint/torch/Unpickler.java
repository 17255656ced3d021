package dev.mxd.checkpoint.torch;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The restricted unpickler of DESIGN §4 for the {@code data.pkl} record of a PyTorch checkpoint: it reads
 * pickle protocols 2 to 5 (what {@code torch.save} writes) into plain values and never runs code.
 *
 * <p>What a pickle becomes: None → {@code null}; bool → {@link Boolean}; int → {@link Long} (a
 * {@link BigInteger} beyond 64 bits); float → {@link Double}; str → {@link String}; bytes → {@code byte[]};
 * tuple → {@link Tuple}; list → {@link ArrayList}; dict and {@code OrderedDict} → {@link LinkedHashMap};
 * set → {@link LinkedHashSet}; a GLOBAL ({@code torch.float32}, a class) → {@link Global}, a name and nothing
 * more; an object of any class made by NEWOBJ (how dataclasses pickle) → {@link Instance}, whose BUILD
 * state is kept as a map; a storage persistent id → {@link Storage}; a tensor → {@link TorchTensor}.
 *
 * <p>Safety: REDUCE is the pickle opcode that calls a function. Here it applies only the names in
 * {@link #CALLABLE}, each implemented in Java below, and refuses any other with an exception naming it.
 * GLOBAL never resolves a name, no Java class is loaded by name, and BUILD only stores state. Lengths are
 * checked against the bytes left before anything is allocated.
 */
final class Unpickler {
    static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    static final String ORDERED_DICT = "collections.OrderedDict";
    static final String DEVICE = "torch.device";

    /** The only callables REDUCE may apply. */
    static final List<String> CALLABLE = List.of(REBUILD_TENSOR, REBUILD_PARAMETER, ORDERED_DICT, DEVICE);

    /** A module-level name (a GLOBAL or STACK_GLOBAL): a class, a function or a torch dtype. Never resolved. */
    record Global(String module, String name) {
        String qualifiedName() {
            return module + "." + name;
        }
    }

    /** A Python tuple; the items may hold {@code null}. */
    record Tuple(List<Object> items) {
        static final Tuple EMPTY = new Tuple(List.of());

        Tuple {
            items = Collections.unmodifiableList(new ArrayList<>(items));
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }
    }

    /** An object of a class that is not called, only described: its class name and BUILD state. */
    static final class Instance {
        final String className;
        final Map<Object, Object> state = new LinkedHashMap<>();

        Instance(String className) {
            this.className = className;
        }
    }

    /** A storage persistent id: {@code ('storage', torch.<class>, key, location, numel)}. */
    record Storage(StorageType type, String key, String location, long elements) {
    }

    private final byte[] in;
    private int pos;
    private int opStart;
    private ArrayList<Object> stack = new ArrayList<>();
    private final ArrayDeque<ArrayList<Object>> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private Unpickler(byte[] pickle) {
        this.in = pickle;
    }

    /**
     * Reads one pickled value.
     *
     * @throws IllegalArgumentException naming the byte offset and what is wrong or refused
     */
    static Object load(byte[] pickle) {
        return new Unpickler(pickle).run();
    }

    private Object run() {
        while (true) {
            if (pos >= in.length) {
                throw fail("the pickle ends without a STOP opcode (data.pkl is truncated)");
            }
            opStart = pos;
            int op = in[pos++] & 0xFF;
            switch (op) {
                case 0x80 -> { // PROTO
                    int version = u8();
                    if (version < 2 || version > 5) {
                        throw fail("pickle protocol " + version + " is not supported (torch.save writes 2 to 5)");
                    }
                }
                case 0x95 -> { // FRAME: a length prefix for buffering; the frame's opcodes follow inline
                    long length = u64();
                    if (length > in.length - pos) {
                        throw fail("a frame of " + length + " bytes runs past the end of data.pkl");
                    }
                }
                case '.' -> { // STOP
                    return pop();
                }
                case '(' -> { // MARK
                    marks.push(stack);
                    stack = new ArrayList<>();
                }
                case '0' -> { // POP
                    if (stack.isEmpty()) {
                        popMark();
                    } else {
                        pop();
                    }
                }
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push(le(4)); // BININT: signed 32-bit
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push(le(2) & 0xFFFFL); // BININT2
                case 0x8a -> push(longN(u8())); // LONG1
                case 0x8b -> push(longN(length(le(4)))); // LONG4
                case 'G' -> push(Double.longBitsToDouble(ByteBuffer.wrap(take(8)).getLong())); // BINFLOAT: big-endian
                case 'X' -> push(utf8(u32())); // BINUNICODE
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(u64())); // BINUNICODE8
                case 'T' -> push(new String(take(length(le(4))), StandardCharsets.ISO_8859_1)); // BINSTRING
                case 'U' -> push(new String(take(u8()), StandardCharsets.ISO_8859_1)); // SHORT_BINSTRING
                case 'B' -> push(take(u32())); // BINBYTES
                case 'C' -> push(take(u8())); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(take(u64())); // BINBYTES8, BYTEARRAY8
                case ')' -> push(Tuple.EMPTY);
                case 0x85 -> push(new Tuple(popN(1)));
                case 0x86 -> push(new Tuple(popN(2)));
                case 0x87 -> push(new Tuple(popN(3)));
                case 't' -> push(new Tuple(popMark())); // TUPLE
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case 'l' -> push(new ArrayList<>(popMark())); // LIST
                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 'd' -> { // DICT
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    putPairs(dict, popMark());
                    push(dict);
                }
                case 0x8f -> push(new LinkedHashSet<>()); // EMPTY_SET
                case 0x91 -> push(Collections.unmodifiableSet(new LinkedHashSet<>(popMark()))); // FROZENSET
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark();
                    Set<Object> set = top(Set.class, "ADDITEMS");
                    set.addAll(items);
                }
                case 'a' -> { // APPEND
                    Object value = pop();
                    List<Object> list = top(List.class, "APPEND");
                    list.add(value);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    List<Object> list = top(List.class, "APPENDS");
                    list.addAll(items);
                }
                case 's' -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    Map<Object, Object> dict = top(Map.class, "SETITEM");
                    dict.put(key, value);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    putPairs(top(Map.class, "SETITEMS"), items);
                }
                case 'q' -> memo.put((long) u8(), peek()); // BINPUT
                case 'r' -> memo.put(u32(), peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(u32())); // LONG_BINGET
                case 'c' -> push(new Global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("STACK_GLOBAL needs two strings, got " + typeName(module) + " and " + typeName(name));
                    }
                    push(new Global(m, n));
                }
                case 'Q' -> push(persistentLoad(pop())); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(reduce(callable, args));
                }
                case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args), which for a plain class only allocates
                    Object args = pop();
                    push(newObject(pop(), args));
                }
                case 0x92 -> { // NEWOBJ_EX
                    Object kwargs = pop();
                    Object args = pop();
                    if (!(kwargs instanceof Map)) {
                        throw fail("NEWOBJ_EX keyword arguments are a " + typeName(kwargs) + ", not a dict");
                    }
                    push(newObject(pop(), args));
                }
                case 'b' -> { // BUILD
                    Object state = pop();
                    build(peek(), state);
                }
                case 0x82, 0x83, 0x84 -> throw fail("EXT opcodes name callables through copyreg's extension"
                        + " registry; refused");
                case 'i', 'o' -> throw fail("INST/OBJ (pickle protocols 0 and 1) call a class to build an object;"
                        + " refused");
                case 0x97, 0x98 -> throw fail("out-of-band buffers (pickle protocol 5) are not supported");
                default -> throw fail(String.format("unsupported pickle opcode 0x%02x%s", op,
                        op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : ""));
            }
        }
    }

    private Object reduce(Object callable, Object args) {
        if (!(callable instanceof Global g)) {
            throw fail("REDUCE applies a " + typeName(callable) + "; only named callables can be applied");
        }
        String name = g.qualifiedName();
        if (!CALLABLE.contains(name)) {
            throw fail("refusing to call " + name + ": REDUCE may only apply " + String.join(", ", CALLABLE)
                    + ". The checkpoint asks to run other code when it is loaded; none of it was run");
        }
        if (!(args instanceof Tuple a)) {
            throw fail(name + " arguments are a " + typeName(args) + ", not a tuple");
        }
        return switch (name) {
            case REBUILD_TENSOR -> rebuildTensor(a);
            case REBUILD_PARAMETER -> {
                if (a.size() < 1 || !(a.get(0) instanceof TorchTensor t)) {
                    throw fail(name + " expects (tensor, requires_grad, backward_hooks), got " + describe(a));
                }
                yield t;
            }
            case ORDERED_DICT -> {
                if (a.size() != 0) {
                    throw fail(name + " with arguments " + describe(a) + " is not supported (torch pickles an"
                            + " empty OrderedDict and fills it with SETITEMS)");
                }
                yield new LinkedHashMap<Object, Object>();
            }
            case DEVICE -> {
                if (a.size() == 1 && a.get(0) instanceof String type) {
                    yield type;
                }
                if (a.size() == 2 && a.get(0) instanceof String type && a.get(1) instanceof Long index) {
                    yield type + ":" + index;
                }
                throw fail(name + " expects (type[, index]), got " + describe(a));
            }
            default -> throw new AssertionError(name);
        };
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
    private TorchTensor rebuildTensor(Tuple a) {
        if ((a.size() != 6 && a.size() != 7) || !(a.get(0) instanceof Storage s) || !(a.get(1) instanceof Long offset)
                || !(a.get(2) instanceof Tuple size) || !(a.get(3) instanceof Tuple stride)
                || !(a.get(4) instanceof Boolean)) {
            throw fail(REBUILD_TENSOR + " expects (storage, offset, size, stride, requires_grad, backward_hooks"
                    + "[, metadata]), got " + describe(a));
        }
        try {
            return new TorchTensor(s.type().className(), longs(size, "size"), longs(stride, "stride"), offset, s.key(),
                    s.elements(), s.location());
        } catch (IllegalArgumentException e) {
            throw fail(e.getMessage());
        }
    }

    /** A storage reference: {@code ('storage', torch.FloatStorage, '0', 'cpu', numel)}. */
    private Storage persistentLoad(Object pid) {
        if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw fail("persistent id " + describe(pid) + " is not a storage ('storage', type, key, location,"
                    + " numel)");
        }
        if (!(t.get(1) instanceof Global type) || !type.module().equals("torch")) {
            throw fail("storage type " + describe(t.get(1)) + " is not a torch storage class");
        }
        StorageType storageType = StorageType.ofClassName(type.name())
                .orElseThrow(() -> fail("unknown storage class " + type.qualifiedName()));
        if (!(t.get(2) instanceof String key) || key.isEmpty() || key.contains("/")
                || !(t.get(3) instanceof String location) || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw fail("malformed storage persistent id " + describe(t));
        }
        return new Storage(storageType, key, location, numel);
    }

    private Instance newObject(Object cls, Object args) {
        if (!(cls instanceof Global g)) {
            throw fail("NEWOBJ of a " + typeName(cls) + "; only named classes can be instantiated");
        }
        if (!(args instanceof Tuple)) {
            throw fail("NEWOBJ arguments are a " + typeName(args) + ", not a tuple");
        }
        return new Instance(g.qualifiedName());
    }

    /** BUILD: an object's state becomes its map; a dict's attributes (OrderedDict's _metadata) are dropped. */
    private void build(Object target, Object state) {
        if (target instanceof Instance obj) {
            if (state instanceof Map<?, ?> m) {
                obj.state.putAll(m);
                return;
            }
            // (dict state, slots state), either may be None
            if (state instanceof Tuple t && t.size() == 2 && (t.get(0) == null || t.get(0) instanceof Map)
                    && (t.get(1) == null || t.get(1) instanceof Map)) {
                for (Object part : t.items()) {
                    if (part != null) {
                        obj.state.putAll((Map<?, ?>) part);
                    }
                }
                return;
            }
            throw fail("BUILD of a " + obj.className + " with a " + typeName(state) + " state is not supported");
        }
        if (target instanceof Map && state instanceof Map) {
            return;
        }
        throw fail("BUILD on a " + typeName(target) + " with a " + typeName(state) + " state is not supported");
    }

    // --- stack and memo ---

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw fail("stack underflow");
        }
        return stack.removeLast();
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw fail("stack underflow");
        }
        return stack.getLast();
    }

    private List<Object> popN(int n) {
        if (stack.size() < n) {
            throw fail("stack underflow");
        }
        List<Object> top = new ArrayList<>(stack.subList(stack.size() - n, stack.size()));
        stack.subList(stack.size() - n, stack.size()).clear();
        return top;
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw fail("no MARK on the stack");
        }
        List<Object> items = stack;
        stack = marks.pop();
        return items;
    }

    /** The top of the stack, which {@code opcode} needs to be a {@code type} (a list, set or dict built here). */
    @SuppressWarnings("unchecked")
    private <T> T top(Class<?> type, String opcode) {
        Object top = peek();
        if (!type.isInstance(top)) {
            throw fail(opcode + " on a " + typeName(top));
        }
        return (T) top;
    }

    private void putPairs(Map<Object, Object> map, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw fail("an odd number of items for a dict");
        }
        for (int i = 0; i < items.size(); i += 2) {
            map.put(items.get(i), items.get(i + 1));
        }
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) {
            throw fail("memo entry " + index + " is read before it is written");
        }
        return memo.get(index);
    }

    // --- reading bytes ---

    private int u8() {
        return take(1)[0] & 0xFF;
    }

    private long u32() {
        return le(4) & 0xFFFFFFFFL;
    }

    private long u64() {
        long v = le(8);
        if (v < 0) {
            throw fail("a length of " + Long.toUnsignedString(v) + " bytes");
        }
        return v;
    }

    /** A little-endian signed integer of {@code n} bytes. */
    private long le(int n) {
        byte[] b = take(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (b[i] & 0xFF);
        }
        return n < 8 ? (v << (64 - 8 * n)) >> (64 - 8 * n) : v;
    }

    private long length(long n) {
        if (n < 0) {
            throw fail("a negative length " + n);
        }
        return n;
    }

    private byte[] take(long n) {
        if (n > in.length - pos) {
            throw fail("needs " + n + " bytes but data.pkl has " + (in.length - pos) + " left (truncated?)");
        }
        byte[] b = Arrays.copyOfRange(in, pos, pos + (int) n);
        pos += (int) n;
        return b;
    }

    /** A little-endian two's-complement integer, as LONG1/LONG4 store it. */
    private Object longN(long n) {
        byte[] le = take(n);
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private String utf8(long n) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(take(n))).toString();
        } catch (CharacterCodingException e) {
            throw fail("a string is not valid UTF-8");
        }
    }

    /** A newline-terminated ASCII line (GLOBAL's module and name). */
    private String line() {
        int start = pos;
        while (pos < in.length && in[pos] != '\n') {
            pos++;
        }
        if (pos >= in.length) {
            throw fail("GLOBAL name is not terminated by a newline");
        }
        return new String(in, start, pos++ - start, StandardCharsets.UTF_8);
    }

    // --- messages ---

    private IllegalArgumentException fail(String message) {
        return new IllegalArgumentException("data.pkl offset " + opStart + ": " + message);
    }

    /** The Python type of a value, for messages. */
    static String typeName(Object v) {
        return switch (v) {
            case null -> "None";
            case Boolean _ -> "bool";
            case Long _ -> "int";
            case BigInteger _ -> "int";
            case Double _ -> "float";
            case String _ -> "str";
            case byte[] _ -> "bytes";
            case Tuple _ -> "tuple";
            case List<?> _ -> "list";
            case Map<?, ?> _ -> "dict";
            case Set<?> _ -> "set";
            case Global g -> "global " + g.qualifiedName();
            case Instance i -> i.className + " object";
            case Storage _ -> "storage";
            case TorchTensor _ -> "tensor";
            default -> v.getClass().getSimpleName();
        };
    }

    /** A short rendering of a value for messages: scalars and tuples of scalars in full, others by type. */
    static String describe(Object v) {
        return switch (v) {
            case null -> "None";
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case String s -> "'" + (s.length() > 40 ? s.substring(0, 40) + "…" : s) + "'";
            case Global g -> g.qualifiedName();
            case Tuple t -> {
                StringBuilder sb = new StringBuilder("(");
                for (int i = 0; i < t.size(); i++) {
                    sb.append(i == 0 ? "" : ", ").append(describe(t.get(i)));
                }
                yield sb.append(t.size() == 1 ? ",)" : ")").toString();
            }
            default -> typeName(v);
        };
    }

    private long[] longs(Tuple t, String what) {
        long[] r = new long[t.size()];
        for (int i = 0; i < r.length; i++) {
            if (!(t.get(i) instanceof Long l)) {
                throw fail("tensor " + what + " " + describe(t) + " holds a " + typeName(t.get(i)));
            }
            r[i] = l;
        }
        return r;
    }
}
