package org.losskit.examples;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import org.losskit.CrossEntropyOptions;
import org.losskit.LossEngine;
import org.losskit.LossOutputs;
import org.losskit.Matrix;

/**
 * ONNX Runtime writes a model's logits into a direct buffer the caller owns, and losskit computes the
 * cross-entropy and the perplexity of those logits through a {@link MemorySegment} over the same buffer: no copy
 * between the two libraries.
 *
 * <p>The model is {@code linear_logits.onnx} (a linear layer, 16 features to 10 classes, made by
 * {@code src/main/python/make_linear_logits_onnx.py} with PyTorch and committed). ORT's "pinned outputs"
 * ({@link OrtSession#run(Map, Map)}) write into an {@link OnnxTensor} created over the caller's direct
 * {@link FloatBuffer}; {@link MemorySegment#ofBuffer} views that buffer without copying, and {@link Matrix#of(MemorySegment, int, int)}
 * makes the rows x classes view losskit reads. The buffer must stay reachable while the view is used (the
 * example keeps it in a field).
 */
public final class OnnxRuntimeExample implements AutoCloseable {
    public static final String MODEL = "linear_logits.onnx";
    public static final int FEATURES = 16;
    public static final int CLASSES = 10;

    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final int batch;
    /** Owned by us, written by ORT, read by losskit. */
    private final ByteBuffer logitsBuffer;
    private final OnnxTensor logitsTensor;
    /** The losskit view of {@link #logitsBuffer}: same memory, no copy. */
    private final Matrix logits;

    public OnnxRuntimeExample(int batch) throws OrtException, IOException {
        this.batch = batch;
        this.session = environment.createSession(modelBytes(), new OrtSession.SessionOptions());
        this.logitsBuffer = ByteBuffer.allocateDirect(batch * CLASSES * Float.BYTES).order(ByteOrder.nativeOrder());
        this.logitsTensor = OnnxTensor.createTensor(environment, logitsBuffer.asFloatBuffer(), new long[] {batch, CLASSES});
        this.logits = Matrix.of(MemorySegment.ofBuffer(logitsBuffer), batch, CLASSES);
    }

    private static byte[] modelBytes() throws IOException {
        try (InputStream model = OnnxRuntimeExample.class.getResourceAsStream(MODEL)) {
            if (model == null) throw new IOException(MODEL + " is not on the class path");
            return model.readAllBytes();
        }
    }

    /** Runs the model on {@code features} (batch x 16, row-major); the logits land in the caller-owned buffer. */
    public void forward(float[] features) throws OrtException {
        if (features.length != batch * FEATURES) {
            throw new IllegalArgumentException("features has " + features.length + " values, expected " + batch * FEATURES);
        }
        try (OnnxTensor input = OnnxTensor.createTensor(environment, FloatBuffer.wrap(features), new long[] {batch, FEATURES})) {
            // the pinned output is logitsTensor itself: nothing to copy out of the result, which is closed at once
            session.run(Map.of("features", input), Map.of("logits", logitsTensor)).close();
        }
    }

    /** The logits as losskit sees them: a view of ORT's output buffer. */
    public Matrix logits() {
        return logits;
    }

    /** Mean cross-entropy of the current logits against {@code targets}, with its gradient into {@code gradient}. */
    public double crossEntropy(LossEngine engine, int[] targets, float[] gradient) {
        return engine.crossEntropy(logits, Matrix.vector(targets), CrossEntropyOptions.defaults(),
                LossOutputs.withGradient(Matrix.of(gradient, batch, CLASSES)));
    }

    /** exp(mean cross-entropy) of the current logits. */
    public double perplexity(LossEngine engine, int[] targets) {
        return engine.perplexity(logits, Matrix.vector(targets), CrossEntropyOptions.defaults());
    }

    /** The copying path, for comparison: ORT's own accessor copies the output into a new buffer, then a float[]. */
    public float[] copyOfLogits() throws OrtException {
        FloatBuffer copy = logitsTensor.getFloatBuffer();
        float[] values = new float[copy.remaining()];
        copy.get(values);
        return values;
    }

    @Override
    public void close() throws OrtException {
        logitsTensor.close();
        session.close();
    }

    /** Runs the example: {@code java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector ...}. */
    public static void main(String[] args) throws Exception {
        int batch = 4;
        float[] features = new float[batch * FEATURES];
        for (int i = 0; i < features.length; i++) features[i] = (float) Math.sin(i);
        int[] targets = {3, 1, 4, 1};
        try (OnnxRuntimeExample example = new OnnxRuntimeExample(batch); LossEngine engine = LossEngine.create()) {
            example.forward(features);
            float[] gradient = new float[batch * CLASSES];
            System.out.printf("cross-entropy %.6f, perplexity %.4f (backend %s)%n",
                    example.crossEntropy(engine, targets, gradient), example.perplexity(engine, targets), engine.backendName());
        }
    }
}
