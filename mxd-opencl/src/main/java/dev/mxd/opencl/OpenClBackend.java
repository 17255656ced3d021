package dev.mxd.opencl;

import dev.mxd.Activation;
import dev.mxd.Availability;
import dev.mxd.DenseOps;
import dev.mxd.MxdBackendException;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.train.TrainingBackend;
import dev.mxd.train.TrainingKernels;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OpenCL backend, {@code -Dmxd.backend=opencl}: OpenCL C 1.2 kernels driven through LWJGL, on the
 * device that {@code -Dmxd.opencl.device} names (an index, or a case-insensitive part of the device name)
 * or, by default, the first GPU, else the first device of any type (DESIGN §3). It reports
 * {@code gpu = true} only for a GPU device, so {@code auto} picks it only where a GPU exists; PoCL's CPU
 * device serves it when it is named explicitly.
 *
 * <p>{@link #availability()} loads the OpenCL library (falling back to {@code libOpenCL.so.1} where the
 * unversioned name is missing), lists the devices, chooses one and builds the kernels once on it; any
 * failure becomes the reason it is unavailable: no OpenCL library, no platform, no device or no matching
 * one (with the list of devices), or a kernel build failure (with the compiler's build log). The outcome is
 * kept per device setting for the life of the process.
 *
 * <p>{@link #load} returns a layer that owns its own OpenCL context; close the layer before the model. It also
 * trains ({@link #kernels}: {@link OpenClTrainingKernels}, with their own context), on a device with double
 * precision; {@code auto} picks it for training, as for inference, only where the device is a GPU.
 */
public final class OpenClBackend implements TrainingBackend {
    /** The name used by {@code -Dmxd.backend}. */
    public static final String NAME = "opencl";
    /** The system property naming the device: an index or a part of the device name. */
    public static final String DEVICE_PROPERTY = DeviceChoice.PROPERTY;

    /** The probe outcome per device setting ("" for none), probed once per process. */
    private static final Map<String, Probe> PROBES = new ConcurrentHashMap<>();

    private final String deviceSetting;

    /** A backend for the device {@code -Dmxd.opencl.device} names (read on the first probe). */
    public OpenClBackend() {
        this(null);
    }

    /** A backend for the given device setting; null reads the system property. */
    OpenClBackend(String deviceSetting) {
        this.deviceSetting = deviceSetting;
    }

    /** What probing found: the availability, and the device when available. */
    record Probe(Availability availability, ClDevice device) {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Availability availability() {
        return probe().availability();
    }

    /**
     * Uploads {@code model} to the chosen device and builds its kernels.
     *
     * @throws MxdBackendException   when the backend is unavailable, or the device fails (a {@link ClException}
     *                               naming the call and error code)
     * @throws IllegalStateException when the model is closed
     */
    @Override
    public MxdLayer load(MxdModel model) {
        Objects.requireNonNull(model, "model");
        ClDevice device = availableDevice();
        model.requireOpen("load a model onto backend " + NAME);
        MxdLayer.checkFiniteWeights(model);
        return KernelGeometry.buildFitting(device,
                geometry -> new OpenClLayer(model, device, geometry, device.localMemBytes()));
    }

    /**
     * Training kernels on the chosen device, holding {@code model}'s parameters and AdamW's moments in device
     * buffers; the caller closes them, then the model.
     *
     * @throws MxdBackendException   when the backend is unavailable, the device cannot build the training kernels
     *                               (such as a device without {@code cl_khr_fp64}, with the build log), or fails
     * @throws IllegalStateException when the model is closed
     */
    @Override
    public TrainingKernels kernels(MxdModel model) {
        Objects.requireNonNull(model, "model");
        ClDevice device = availableDevice();
        model.requireOpen("train on backend " + NAME);
        return KernelGeometry.buildFitting(device, geometry -> new OpenClTrainingKernels(model, device, geometry));
    }

    /**
     * Dense operations on the chosen device ({@link OpenClDenseOps}), with their own context; the caller closes them.
     *
     * @throws MxdBackendException when the backend is unavailable, or the device fails
     */
    @Override
    public DenseOps denseOps() {
        return new OpenClDenseOps(availableDevice());
    }

    /** The device this backend runs on, or null when it is unavailable. */
    ClDevice device() {
        return probe().device();
    }

    /** The chosen device, or the reason the backend is unavailable. */
    private ClDevice availableDevice() {
        Probe probe = probe();
        if (!probe.availability().available()) {
            throw new MxdBackendException("backend 'opencl' is unavailable: " + probe.availability().detail());
        }
        return probe.device();
    }

    private Probe probe() {
        String setting = deviceSetting != null ? deviceSetting : System.getProperty(DEVICE_PROPERTY, "");
        return PROBES.computeIfAbsent(setting.trim(), s -> probe(s, KernelProgram.backendSources()));
    }

    /**
     * Probes from scratch: library, platforms, device choice, and a trial build of {@code sources} with the
     * options of a default layer. Never throws; every failure is an unavailable outcome with its reason.
     */
    static Probe probe(String setting, List<KernelProgram.Source> sources) {
        String libraryFailure = ClLibrary.load();
        if (libraryFailure != null) {
            return unavailable(libraryFailure);
        }
        List<ClDevice> devices;
        try {
            devices = ClDevice.enumerate();
        } catch (RuntimeException e) {
            return unavailable("listing OpenCL devices failed: " + e.getMessage());
        }
        if (devices.isEmpty()) {
            return unavailable("no OpenCL platform with a device (the ICD loader found no driver; install one, e.g."
                    + " Debian's pocl-opencl-icd for the CPU or the GPU vendor's OpenCL driver)");
        }
        ClDevice device;
        try {
            device = DeviceChoice.choose(setting, devices);
        } catch (IllegalArgumentException e) {
            return unavailable(e.getMessage());
        }
        if (!device.usable()) {
            return unavailable("OpenCL device " + device.describe() + " is not usable: it must be available, have a"
                    + " compiler and be little-endian");
        }
        if (!device.supportsOpenClC12()) {
            return unavailable("OpenCL device " + device.describe() + " does not compile OpenCL C 1.2, the language of"
                    + " the kernels");
        }
        try (ClObjects objects = new ClObjects()) {
            long context = objects.context(device);
            KernelGeometry geometry = KernelGeometry.forDevice(device);
            KernelProgram.build(objects, context, device, sources, KernelProgram.options(geometry,
                    MxdConfig.mxd(1, 1, 1, 1, 1, Activation.RELU, false, false),
                    geometry.topkListsFitLocal(1, device.localMemBytes())));
        } catch (ClBuildException e) {
            return unavailable("kernel build failed on OpenCL device " + device.describe() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            return unavailable("OpenCL device " + device.describe() + " failed: " + e.getMessage());
        }
        return new Probe(Availability.ready(device.isGpu(), device.detail()), device);
    }

    private static Probe unavailable(String reason) {
        return new Probe(Availability.unavailable(reason), null);
    }
}
