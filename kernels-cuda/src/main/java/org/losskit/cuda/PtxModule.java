package org.losskit.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The PTX shipped as a resource, and what its text declares: the PTX ISA version, the target, and each
 * {@code .entry} with its parameter types. The backend loads {@link #text()} with cuModuleLoadData; tests check
 * the entries against {@link Kernel}.
 */
record PtxModule(String text, String version, String target, Map<String, List<String>> entries) {
    static final String RESOURCE = "/org/losskit/cuda/losskit.ptx";
    /** The CUDA driver version (cuDriverGetVersion) that can JIT PTX ISA 9.0, the version nvcc 13.0 writes. */
    static final int REQUIRED_DRIVER_VERSION = 13000;

    private static final Pattern VERSION = Pattern.compile("^\\.version\\s+(\\S+)", Pattern.MULTILINE);
    private static final Pattern TARGET = Pattern.compile("^\\.target\\s+(\\S+)", Pattern.MULTILINE);
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)\\s+\\w+");

    /** The shipped PTX, read and parsed once per JVM. */
    static PtxModule shipped() {
        return Shipped.MODULE;
    }

    private static final class Shipped {
        static final PtxModule MODULE = load();
    }

    static PtxModule load() {
        try (InputStream in = PtxModule.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("the PTX resource " + RESOURCE + " is missing from losskit-kernels-cuda");
            return parse(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the PTX resource " + RESOURCE, e);
        }
    }

    static PtxModule parse(String text) {
        Matcher version = VERSION.matcher(text);
        Matcher target = TARGET.matcher(text);
        if (!version.find() || !target.find()) throw new IllegalArgumentException("not PTX: no .version or .target line");
        Map<String, List<String>> entries = new LinkedHashMap<>();
        Matcher entry = ENTRY.matcher(text);
        while (entry.find()) {
            List<String> types = new ArrayList<>();
            Matcher param = PARAM.matcher(entry.group(2));
            while (param.find()) types.add(param.group(1));
            entries.put(entry.group(1), List.copyOf(types));
        }
        return new PtxModule(text, version.group(1), target.group(1), Map.copyOf(entries));
    }

    /** The image for cuModuleLoadData: the text, NUL-terminated. */
    byte[] image() {
        byte[] ascii = text.getBytes(StandardCharsets.US_ASCII);
        byte[] image = new byte[ascii.length + 1];
        System.arraycopy(ascii, 0, image, 0, ascii.length);
        return image;
    }
}
