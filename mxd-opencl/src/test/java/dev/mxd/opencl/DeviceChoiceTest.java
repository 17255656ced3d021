package dev.mxd.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.Availability;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lwjgl.opencl.CL10;

/** The device rule of DESIGN §3 on made-up device lists, then on the devices of this machine. */
class DeviceChoiceTest {
    private static final ClDevice CPU = device(0, "pthread-skylake-avx512", CL10.CL_DEVICE_TYPE_CPU);
    private static final ClDevice GPU_A = device(1, "NVIDIA H100 80GB HBM3", CL10.CL_DEVICE_TYPE_GPU);
    private static final ClDevice GPU_B = device(2, "AMD Radeon Pro W7900", CL10.CL_DEVICE_TYPE_GPU | CL10.CL_DEVICE_TYPE_DEFAULT);
    private static final List<ClDevice> MIXED = List.of(CPU, GPU_A, GPU_B);

    private static ClDevice device(int index, String name, long type) {
        return new ClDevice(index, 0, 0, name, "Platform " + index, type, "1.0", "OpenCL C 1.2", 8, 1024, 65536,
                1L << 30, true);
    }

    @Test
    void withoutSettingTheFirstGpuWinsOverEarlierCpus() {
        assertEquals(GPU_A, DeviceChoice.choose(null, MIXED));
        assertEquals(GPU_A, DeviceChoice.choose("  ", MIXED));
    }

    @Test
    void withoutGpuTheFirstDeviceOfAnyType() {
        ClDevice other = device(1, "some accelerator", CL10.CL_DEVICE_TYPE_ACCELERATOR);
        assertEquals(CPU, DeviceChoice.choose(null, List.of(CPU, other)));
    }

    @Test
    void anIndexPicksThatDeviceEvenACpuBesideAGpu() {
        assertEquals(CPU, DeviceChoice.choose("0", MIXED));
        assertEquals(GPU_B, DeviceChoice.choose(" 2 ", MIXED));
    }

    @Test
    void aNameSubstringMatchesCaseInsensitivelyTheFirstDeviceThatHasIt() {
        assertEquals(GPU_B, DeviceChoice.choose("radeon", MIXED));
        assertEquals(GPU_A, DeviceChoice.choose("h100", MIXED));
        assertEquals(CPU, DeviceChoice.choose("AVX512", MIXED));
    }

    @Test
    void aBadIndexSaysHowManyDevicesThereAreAndListsThem() {
        for (String bad : new String[] {"3", "-1", "99999999999999999999"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.choose(bad, MIXED));
            assertTrue(e.getMessage().contains("mxd.opencl.device=" + bad), e.getMessage());
            assertTrue(e.getMessage().contains("3 devices (index 0 to 2)"), e.getMessage());
            assertListsAll(e.getMessage());
        }
    }

    @Test
    void aNameNoDeviceHasListsTheDevices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.choose("Arc A770", MIXED));
        assertTrue(e.getMessage().contains("'Arc A770' matches no device name"), e.getMessage());
        assertListsAll(e.getMessage());
    }

    @Test
    void noDeviceAtAll() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.choose(null, List.of()));
        assertTrue(e.getMessage().contains("no OpenCL device"), e.getMessage());
    }

    private static void assertListsAll(String message) {
        assertTrue(message.contains("[0] pthread-skylake-avx512 (CPU, Platform 0, OpenCL C 1.2)"), message);
        assertTrue(message.contains("[1] NVIDIA H100 80GB HBM3 (GPU"), message);
        assertTrue(message.contains("[2] AMD Radeon Pro W7900 (GPU"), message);
    }

    // ---- on this machine's devices -----------------------------------------------------------------

    @Test
    void theRealBackendReportsBadSettingsWithTheDeviceList() {
        OpenClTestSupport.requireAvailable(new OpenClBackend("0").availability());
        List<ClDevice> devices = ClDevice.enumerate();
        for (String bad : new String[] {String.valueOf(devices.size()), "no such device name"}) {
            Availability a = new OpenClBackend(bad).availability();
            assertFalse(a.available(), bad);
            assertFalse(a.gpu(), bad);
            for (ClDevice d : devices) {
                assertTrue(a.detail().contains(d.describe()), a.detail());
            }
        }
    }

    @Test
    void theRealBackendFindsADeviceByIndexAndByName() {
        OpenClTestSupport.requireAvailable(new OpenClBackend("0").availability());
        ClDevice first = ClDevice.enumerate().getFirst();
        OpenClBackend byName = new OpenClBackend(first.name().substring(first.name().length() / 2).toUpperCase());
        assertTrue(byName.availability().available(), byName.availability().detail());
        assertEquals(first.name(), byName.device().name());
        // gpu is reported from the device type alone: auto takes OpenCL only for a GPU
        assertEquals(first.isGpu(), byName.availability().gpu());
        assertTrue(byName.availability().detail().contains(first.name()), byName.availability().detail());
    }
}
