package dev.mxd.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/** A sink that fails with an I/O error once {@code limit} bytes of one target's file have been written. */
final class FailingSink implements WritableByteChannel {
    static final String MESSAGE = "injected I/O failure";

    private final WritableByteChannel out;
    private long left;

    private FailingSink(WritableByteChannel out, long limit) {
        this.out = out;
        this.left = limit;
    }

    /** Fails writes to the file named {@code fileName} after {@code limit} bytes; other files pass. */
    static AtomicWrite.Sink on(String fileName, long limit) {
        return (target, channel) -> target.getFileName().toString().equals(fileName)
                ? new FailingSink(channel, limit) : channel;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (left <= 0) {
            throw new IOException(MESSAGE);
        }
        ByteBuffer part = src.slice(src.position(), (int) Math.min(src.remaining(), left));
        int n = out.write(part);
        src.position(src.position() + n);
        left -= n;
        return n;
    }

    @Override
    public boolean isOpen() {
        return out.isOpen();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
