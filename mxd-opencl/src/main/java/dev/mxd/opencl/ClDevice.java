package dev.mxd.opencl;

import static org.lwjgl.opencl.CL10.CL_DEVICE_AVAILABLE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_COMPILER_AVAILABLE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_ENDIAN_LITTLE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_LOCAL_MEM_SIZE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.lwjgl.opencl.CL10.CL_DEVICE_MAX_MEM_ALLOC_SIZE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_NAME;
import static org.lwjgl.opencl.CL10.CL_DEVICE_NOT_FOUND;
import static org.lwjgl.opencl.CL10.CL_DEVICE_TYPE;
import static org.lwjgl.opencl.CL10.CL_DEVICE_TYPE_ACCELERATOR;
import static org.lwjgl.opencl.CL10.CL_DEVICE_TYPE_ALL;
import static org.lwjgl.opencl.CL10.CL_DEVICE_TYPE_CPU;
import static org.lwjgl.opencl.CL10.CL_DEVICE_TYPE_GPU;
import static org.lwjgl.opencl.CL10.CL_DRIVER_VERSION;
import static org.lwjgl.opencl.CL10.CL_PLATFORM_NAME;
import static org.lwjgl.opencl.CL10.clGetDeviceIDs;
import static org.lwjgl.opencl.CL10.clGetDeviceInfo;
import static org.lwjgl.opencl.CL10.clGetPlatformIDs;
import static org.lwjgl.opencl.CL10.clGetPlatformInfo;
import static org.lwjgl.opencl.CL11.CL_DEVICE_OPENCL_C_VERSION;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lwjgl.PointerBuffer;
import org.lwjgl.opencl.KHRICD;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * One OpenCL device as the platforms list it, with what the backend needs to know about it. Handles are
 * valid for the life of the process (devices of the ICD are not reference-counted).
 *
 * @param index          position in the list of every device of every platform, platform order first
 * @param platform       the {@code cl_platform_id}
 * @param device         the {@code cl_device_id}
 * @param name           {@code CL_DEVICE_NAME}
 * @param platformName   {@code CL_PLATFORM_NAME}
 * @param type           {@code CL_DEVICE_TYPE} bits
 * @param driver         {@code CL_DRIVER_VERSION}, e.g. "3.1+debian"
 * @param openclC        {@code CL_DEVICE_OPENCL_C_VERSION}, e.g. "OpenCL C 1.2 PoCL"
 * @param computeUnits   {@code CL_DEVICE_MAX_COMPUTE_UNITS}
 * @param maxGroupSize   {@code CL_DEVICE_MAX_WORK_GROUP_SIZE}, work-items
 * @param localMemBytes  {@code CL_DEVICE_LOCAL_MEM_SIZE}, bytes
 * @param maxAllocBytes  {@code CL_DEVICE_MAX_MEM_ALLOC_SIZE}, bytes
 * @param usable         available, with a compiler, little-endian (what the kernels and uploads assume)
 */
record ClDevice(int index, long platform, long device, String name, String platformName, long type, String driver,
                String openclC, int computeUnits, long maxGroupSize, long localMemBytes, long maxAllocBytes,
                boolean usable) {

    private static final Pattern C_VERSION = Pattern.compile("OpenCL C (\\d+)\\.(\\d+)");

    boolean isGpu() {
        return (type & CL_DEVICE_TYPE_GPU) != 0;
    }

    boolean isCpu() {
        return (type & CL_DEVICE_TYPE_CPU) != 0;
    }

    String typeName() {
        if (isGpu()) {
            return "GPU";
        }
        if ((type & CL_DEVICE_TYPE_CPU) != 0) {
            return "CPU";
        }
        return (type & CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other";
    }

    /** Whether the device compiles OpenCL C 1.2, the language of the kernels. */
    boolean supportsOpenClC12() {
        Matcher m = C_VERSION.matcher(openclC);
        return m.find() && (Integer.parseInt(m.group(1)) > 1 || Integer.parseInt(m.group(2)) >= 2);
    }

    /** "[0] name (CPU, platform, OpenCL C 1.2 ...)": how devices are listed in messages. */
    String describe() {
        return "[" + index + "] " + name + " (" + typeName() + ", " + platformName + ", " + openclC + ")";
    }

    /** The detail string of an available backend: device, type, platform and driver, language, compute units. */
    String detail() {
        return name + " (" + typeName() + ", " + platformName + " driver " + driver + ", " + openclC + ", "
                + computeUnits + " compute units, device " + index + ")";
    }

    /**
     * Every device of every platform, platform by platform. An ICD loader with no platform gives an empty
     * list; any other failure of a query is thrown.
     *
     * @throws ClException naming the query that failed
     */
    static List<ClDevice> enumerate() {
        List<ClDevice> devices = new ArrayList<>();
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            int err = clGetPlatformIDs(null, count);
            if (err == KHRICD.CL_PLATFORM_NOT_FOUND_KHR || (err == 0 && count.get(0) == 0)) {
                return devices;
            }
            ClException.check(err, "clGetPlatformIDs");
            PointerBuffer platforms = stack.mallocPointer(count.get(0));
            ClException.check(clGetPlatformIDs(platforms, (IntBuffer) null), "clGetPlatformIDs");
            for (int p = 0; p < platforms.capacity(); p++) {
                long platform = platforms.get(p);
                String platformName = platformString(platform, CL_PLATFORM_NAME);
                err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, null, count);
                if (err == CL_DEVICE_NOT_FOUND || (err == 0 && count.get(0) == 0)) {
                    continue;
                }
                ClException.check(err, "clGetDeviceIDs(" + platformName + ")");
                PointerBuffer ids = stack.mallocPointer(count.get(0));
                ClException.check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, ids, (IntBuffer) null),
                        "clGetDeviceIDs(" + platformName + ")");
                for (int d = 0; d < ids.capacity(); d++) {
                    devices.add(query(devices.size(), platform, platformName, ids.get(d)));
                }
            }
        }
        return devices;
    }

    private static ClDevice query(int index, long platform, String platformName, long device) {
        boolean usable = deviceInt(device, CL_DEVICE_AVAILABLE) != 0 && deviceInt(device, CL_DEVICE_COMPILER_AVAILABLE) != 0
                && deviceInt(device, CL_DEVICE_ENDIAN_LITTLE) != 0;
        return new ClDevice(index, platform, device, deviceString(device, CL_DEVICE_NAME).trim(), platformName,
                deviceLong(device, CL_DEVICE_TYPE), deviceString(device, CL_DRIVER_VERSION).trim(),
                deviceString(device, CL_DEVICE_OPENCL_C_VERSION).trim(), deviceInt(device, CL_DEVICE_MAX_COMPUTE_UNITS),
                deviceSize(device, CL_DEVICE_MAX_WORK_GROUP_SIZE), deviceLong(device, CL_DEVICE_LOCAL_MEM_SIZE),
                deviceLong(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE), usable);
    }

    private static String platformString(long platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(clGetPlatformInfo(platform, param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer bytes = stack.malloc((int) size.get(0));
            ClException.check(clGetPlatformInfo(platform, param, bytes, null), "clGetPlatformInfo");
            return MemoryUtil.memUTF8(bytes, Math.max(0, bytes.capacity() - 1));
        }
    }

    private static String deviceString(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClException.check(clGetDeviceInfo(device, param, (ByteBuffer) null, size), "clGetDeviceInfo");
            ByteBuffer bytes = stack.malloc((int) size.get(0));
            ClException.check(clGetDeviceInfo(device, param, bytes, null), "clGetDeviceInfo");
            return MemoryUtil.memUTF8(bytes, Math.max(0, bytes.capacity() - 1));
        }
    }

    private static int deviceInt(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer v = stack.mallocInt(1);
            ClException.check(clGetDeviceInfo(device, param, v, null), "clGetDeviceInfo");
            return v.get(0);
        }
    }

    private static long deviceLong(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer v = stack.mallocLong(1);
            ClException.check(clGetDeviceInfo(device, param, v, null), "clGetDeviceInfo");
            return v.get(0);
        }
    }

    private static long deviceSize(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer v = stack.mallocPointer(1);
            ClException.check(clGetDeviceInfo(device, param, v, null), "clGetDeviceInfo");
            return v.get(0);
        }
    }
}
