package dev.mxd.checkpoint.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.checkpoint.torch.Unpickler.Global;
import dev.mxd.checkpoint.torch.Unpickler.Instance;
import dev.mxd.checkpoint.torch.Unpickler.Tuple;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opcodes the fixtures do not exercise, hand-assembled (the opcode bytes are those of CPython's
 * pickle.py), and the refusals of the restricted unpickler.
 */
class UnpicklerTest {

    /** A pickle assembler. */
    private static final class P {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        P op(int... bytes) {
            for (int b : bytes) {
                out.write(b);
            }
            return this;
        }

        P raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        P le(long v, int n) {
            for (int i = 0; i < n; i++) {
                out.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        P str(String s) { // SHORT_BINUNICODE
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return op(0x8c, b.length).raw(b);
        }

        P global(String module, String name) { // GLOBAL
            return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        }

        P int1(int v) { // BININT1
            return op('K', v);
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        Object load() {
            return Unpickler.load(bytes());
        }
    }

    private static P proto(int version) {
        return new P().op(0x80, version);
    }

    @Test
    void scalarsOfEveryEncoding() {
        byte[] big = BigInteger.ONE.shiftLeft(70).negate().toByteArray(); // big-endian two's complement
        byte[] little = new byte[big.length];
        for (int i = 0; i < big.length; i++) {
            little[i] = big[big.length - 1 - i];
        }
        Object v = proto(4).op(0x95).le(0, 8) // FRAME (length unchecked beyond the bounds)
                .op('(')
                .op('N').op(0x88).op(0x89)
                .op('J').le(-5, 4) // BININT
                .op('M').le(65535, 2) // BININT2
                .op(0x8a, 8).le(Long.MIN_VALUE, 8) // LONG1 that fits a long
                .op(0x8a, little.length).raw(little) // LONG1 beyond 64 bits
                .op(0x8b).le(0, 4) // LONG4 of zero bytes: 0
                .op('G').raw(ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putDouble(1.5).array())
                .op('U', 2).raw("ab".getBytes(StandardCharsets.US_ASCII)) // SHORT_BINSTRING
                .op('T').le(1, 4).raw(new byte[] {(byte) 0xe9}) // BINSTRING, latin-1
                .op('X').le(3, 4).raw("µs".getBytes(StandardCharsets.UTF_8)) // BINUNICODE
                .op(0x8d).le(1, 8).raw(new byte[] {'z'}) // BINUNICODE8
                .op('C', 2, 1, 2) // SHORT_BINBYTES
                .op('B').le(1, 4).op(7) // BINBYTES
                .op('l') // LIST from the mark
                .op('.').load();
        List<?> list = assertInstanceOf(List.class, v);
        assertEquals(null, list.get(0));
        assertEquals(true, list.get(1));
        assertEquals(false, list.get(2));
        assertEquals(-5L, list.get(3));
        assertEquals(65535L, list.get(4));
        assertEquals(Long.MIN_VALUE, list.get(5));
        assertEquals(BigInteger.ONE.shiftLeft(70).negate(), list.get(6));
        assertEquals(0L, list.get(7));
        assertEquals(1.5, list.get(8));
        assertEquals("ab", list.get(9));
        assertEquals("é", list.get(10));
        assertEquals("µs", list.get(11));
        assertEquals("z", list.get(12));
        assertArrayEquals(new byte[] {1, 2}, (byte[]) list.get(13));
        assertArrayEquals(new byte[] {7}, (byte[]) list.get(14));
    }

    @Test
    void containersMemoAndStackOpcodes() {
        Object v = proto(4)
                .op('}').op(0x94) // EMPTY_DICT, memo 0
                .str("t").op('(').int1(1).int1(2).op('t') // TUPLE from mark
                .op('s') // SETITEM
                .op('(').str("pair").int1(3).int1(4).op(0x86) // TUPLE2
                .str("one").int1(5).op(0x85) // TUPLE1
                .str("three").int1(6).int1(7).int1(8).op(0x87) // TUPLE3
                .str("list").op(']').op('q', 1).int1(9).op('a').op('(').int1(10).op('e') // EMPTY_LIST, BINPUT, APPEND(S)
                .str("same").op('h', 1) // BINGET: the same list object
                .str("set").op(0x8f).op('(').int1(1).int1(1).int1(2).op(0x90) // EMPTY_SET, ADDITEMS
                .str("frozen").op('(').int1(3).op(0x91) // FROZENSET
                .str("long memo").int1(42).op('r').le(100_000, 4).op('0').op('j').le(100_000, 4) // LONG_BINPUT, POP, LONG_BINGET
                .str("dup").int1(1).op('2').op(0x86) // DUP
                .str("dict").op('(').str("k").int1(1).op('d') // DICT from mark
                .op('(').int1(99).op('1') // POP_MARK discards
                .op('u') // SETITEMS
                .op('.').load();
        Map<?, ?> m = assertInstanceOf(Map.class, v);
        assertEquals(new Tuple(List.of(1L, 2L)), m.get("t"));
        assertEquals(new Tuple(List.of(3L, 4L)), m.get("pair"));
        assertEquals(new Tuple(List.of(5L)), m.get("one"));
        assertEquals(new Tuple(List.of(6L, 7L, 8L)), m.get("three"));
        assertEquals(List.of(9L, 10L), m.get("list"));
        assertSame(m.get("list"), m.get("same"));
        assertEquals(Set.of(1L, 2L), m.get("set"));
        assertEquals(Set.of(3L), m.get("frozen"));
        assertEquals(42L, m.get("long memo"));
        assertEquals(new Tuple(List.of(1L, 1L)), m.get("dup"));
        assertEquals(Map.of("k", 1L), m.get("dict"));
        assertEquals(11, m.size());
    }

    @Test
    void newobjAndBuildMakeAStateMapAndCallNothing() {
        Object v = proto(2).op('(')
                .global("sae_training.config", "LanguageModelSAERunnerConfig").op(')').op(0x81) // NEWOBJ
                .op('}').str("d_in").int1(7).op('s').op('b') // BUILD with a dict
                .global("some.module", "Slotted").op(')').op('}').op(0x92) // NEWOBJ_EX
                .op('N').op('}').str("x").int1(1).op('s').op(0x86).op('b') // BUILD with (None, slots)
                .global("torch", "float32")
                .op('l').op('.').load();
        List<?> list = (List<?>) v;
        Instance cfg = assertInstanceOf(Instance.class, list.get(0));
        assertEquals("sae_training.config.LanguageModelSAERunnerConfig", cfg.className);
        assertEquals(Map.of("d_in", 7L), cfg.state);
        Instance slotted = assertInstanceOf(Instance.class, list.get(1));
        assertEquals(Map.of("x", 1L), slotted.state);
        assertEquals(new Global("torch", "float32"), list.get(2));
    }

    @Test
    void allowListedCallablesAreImplementedInJava() {
        Object v = proto(2).op('(')
                .global("torch", "device").str("cuda").op(0x85).op('R')
                .global("torch", "device").str("cuda").int1(1).op(0x86).op('R')
                .global("collections", "OrderedDict").op(')').op('R').op('}').op('b') // OrderedDict + _metadata BUILD
                .global("torch._utils", "_rebuild_parameter")
                .global("torch._utils", "_rebuild_tensor_v2")
                .op('(').op('(').str("storage").global("torch", "HalfStorage").str("7").str("cpu").int1(12).op('t').op('Q')
                .int1(2).int1(2).int1(5).op(0x86).int1(1).int1(2).op(0x86).op(0x89).op('}').op('t').op('R')
                .op(0x88).op('}').op(0x87).op('R')
                .op('l').op('.').load();
        List<?> list = (List<?>) v;
        assertEquals("cuda", list.get(0));
        assertEquals("cuda:1", list.get(1));
        assertEquals(Map.of(), list.get(2));
        TorchTensor t = assertInstanceOf(TorchTensor.class, list.get(3));
        assertEquals("float16", t.torchDtype());
        assertArrayEquals(new long[] {2, 5}, t.shape());
        assertArrayEquals(new long[] {1, 2}, t.stride());
        assertEquals(2, t.storageOffset());
        assertEquals("7", t.storageKey());
        assertEquals(12, t.storageElements());
    }

    @Test
    void aTensorReachingPastItsStorageIsRefused() {
        // size (2, 5), stride (5, 1) at offset 3 needs 13 elements; the storage has 12
        P p = proto(2).global("torch._utils", "_rebuild_tensor_v2")
                .op('(').op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(12).op('t').op('Q')
                .int1(3).int1(2).int1(5).op(0x86).int1(5).int1(1).op(0x86).op(0x89).op('}').op('t').op('R').op('.');
        assertRefused(p, "reaches element 12 of storage '0', which holds 12 elements");
    }

    @Test
    void everyOtherCallIsRefused() {
        assertRefused(proto(2).global("builtins", "getattr").op('(').op('}').str("x").op('t').op('R').op('.'),
                "refusing to call builtins.getattr");
        assertRefused(proto(4).str("subprocess").str("call").op(0x93).str("id").op(0x85).op('R').op('.'),
                "refusing to call subprocess.call");
        assertRefused(proto(2).op('}').op(')').op('R').op('.'), "REDUCE applies a dict");
        assertRefused(proto(2).op(0x82, 1).op('.'), "EXT opcodes");
        assertRefused(proto(2).op('(').global("os", "system").str("id").op('o').op('.'), "INST/OBJ");
        assertRefused(proto(2).op('(').op('i').raw("os\nsystem\n".getBytes(StandardCharsets.US_ASCII)).op('.'),
                "INST/OBJ");
        assertRefused(proto(2).global("collections", "OrderedDict").op(']').op(0x85).op('R').op('.'),
                "collections.OrderedDict with arguments");
        assertRefused(proto(2).global("torch", "device").int1(0).op(0x85).op('R').op('.'),
                "torch.device expects (type[, index]), got (0,)");
    }

    @Test
    void malformedPicklesAreNamedWithTheirOffset() {
        assertRefused(proto(2).op('N'), "ends without a STOP opcode");
        assertRefused(proto(2).op('h', 3).op('.'), "data.pkl offset 2: memo entry 3 is read before it is written");
        assertRefused(proto(2).op('t').op('.'), "no MARK on the stack");
        assertRefused(proto(2).op('.'), "stack underflow");
        assertRefused(proto(6).op('N').op('.'), "pickle protocol 6 is not supported");
        assertRefused(proto(2).op('I').raw("1\n".getBytes(StandardCharsets.US_ASCII)).op('.'),
                "unsupported pickle opcode 0x49 ('I')");
        assertRefused(proto(2).op('X').le(1_000_000, 4).op('.'), "needs 1000000 bytes but data.pkl has 1 left");
        assertRefused(proto(2).op(0x8d).le(-1, 8).op('.'), "a length of 18446744073709551615 bytes");
        assertRefused(proto(2).op('c').raw("torch".getBytes(StandardCharsets.US_ASCII)), "not terminated");
        assertRefused(proto(2).op(0x8c, 2, 0xC3, 0x28).op('.'), "not valid UTF-8");
        assertRefused(proto(2).op(']').int1(1).op('s').op('.'), "stack underflow");
        assertRefused(proto(2).op(']').str("k").int1(1).op('s').op('.'), "SETITEM on a list");
        assertRefused(proto(2).int1(1).op('}').op('b').op('.'), "BUILD on a int with a dict state");
    }

    @Test
    void aConfigThatContainsItselfIsRefused(@TempDir Path dir) throws IOException {
        // {'cfg': cfg, 'state_dict': {}} where cfg = {'self': [cfg]}
        byte[] pickle = proto(2).op('}').op('q', 0).op('(')
                .str("cfg").op('}').op('q', 1).str("self").op(']').op('h', 1).op('a').op('s')
                .str("state_dict").op('}').op('u').op('.').bytes();
        Path pt = Fixtures.rewriteZip(Fixtures.pt("mxd_relu"), dir.resolve("cyclic.pt"),
                (name, data) -> name.endsWith("data.pkl") ? pickle : data);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TorchCheckpoint.read(pt));
        assertTrue(e.getMessage().contains("the config nests deeper than 64 levels (or refers to itself)"),
                e.getMessage());
    }

    private static void assertRefused(P pickle, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, pickle::load);
        assertTrue(e.getMessage().contains(fragment), "message lacks '" + fragment + "': " + e.getMessage());
    }
}
