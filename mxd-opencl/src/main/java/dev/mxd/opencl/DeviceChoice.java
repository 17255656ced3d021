package dev.mxd.opencl;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The device rule of DESIGN §3, apart from any OpenCL call so it can be tested on made-up device lists.
 *
 * <p>{@code -Dmxd.opencl.device} is either an index into the list of every device of every platform
 * (platform order first, as {@code clinfo -l} shows them) or a case-insensitive substring of the device
 * name. Without it the first GPU is taken, else the first device of any type.
 */
final class DeviceChoice {
    /** The system property naming the device. */
    static final String PROPERTY = "mxd.opencl.device";

    private DeviceChoice() {
    }

    /**
     * The device {@code spec} names among {@code devices}.
     *
     * @param spec null or blank for the default rule, else an index or a name substring
     * @throws IllegalArgumentException when no device matches, listing the devices there are
     */
    static ClDevice choose(String spec, List<ClDevice> devices) {
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("no OpenCL device on any platform");
        }
        if (spec == null || spec.isBlank()) {
            return devices.stream().filter(ClDevice::isGpu).findFirst().orElse(devices.getFirst());
        }
        String s = spec.trim();
        if (s.matches("[+-]?\\d+")) {
            long index;
            try {
                index = Long.parseLong(s);
            } catch (NumberFormatException e) {
                index = -1;
            }
            if (index < 0 || index >= devices.size()) {
                throw new IllegalArgumentException(PROPERTY + "=" + s + " is not a device index: there "
                        + (devices.size() == 1 ? "is 1 device" : "are " + devices.size() + " devices")
                        + " (index 0 to " + (devices.size() - 1) + "): " + list(devices));
            }
            return devices.get((int) index);
        }
        String needle = s.toLowerCase(Locale.ROOT);
        return devices.stream().filter(d -> d.name().toLowerCase(Locale.ROOT).contains(needle)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(PROPERTY + "='" + s
                        + "' matches no device name (give an index or a part of a name): " + list(devices)));
    }

    /** The devices, one "[i] name (type, platform, language)" each, separated by "; ". */
    static String list(List<ClDevice> devices) {
        return devices.stream().map(ClDevice::describe).collect(Collectors.joining("; "));
    }
}
