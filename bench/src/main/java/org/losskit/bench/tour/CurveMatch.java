package org.losskit.bench.tour;

import java.util.Locale;

import org.losskit.ErrorBound;

/**
 * Compares a run's losskit loss curves with PyTorch's, step by step, within a tolerance derived from float32
 * rounding alone (docs/tour/TOUR.md, "Matched against PyTorch", says why each term is there).
 *
 * <p>Both float32 runs are compared through the exact run (PyTorch in float64, from the same data and weights):
 * {@code |L_losskit(k) - L_torch(k)| <= |L_torch(k) - L_exact(k)| + B(k)}. The first term is PyTorch's own float32
 * error, measured. {@code B(k)} bounds losskit's float32 error against the exact run:
 * <pre>
 *   B(k) = rho |L(k)| + alpha + u sum|G||Z|           evaluating L at float32 logits (losskit's documented bound,
 *                                                      and Z rounded to float32 once)
 *        + |grad L(k)| e(k) + kappa e(k)^2 / 2        the weights being e(k) away from the exact run's (smooth losses)
 *          or  slope_max mean|x~_i| e(k)               (L1 and quantile: Lipschitz)
 *   e(0) = 0 (the same initial weights, exact in float32)
 *   e(k+1) = e(k) + r(k) + lr sum over residuals within delta(k) of the kink of jump |x~_i| / n    (L1, quantile)
 *   r(k)   = lr (gamma max|G| S + (rho_g + u') ||X~|^T |G|| + u ||X~|^T Q||) + u lr |grad L| + u |theta(k+1)|
 *   delta(k) = max|x~_i| (r(0) + ... + r(k-1)) + u max|Z|
 * </pre>
 * u = 2^-24, u' = u + n 2^-53 (a double sum of n products rounded to float32 once); (gamma, rho_g) and (rho, alpha)
 * are the loss's documented float32 bounds ({@link ErrorBound}) for the gradient and the loss; G = dL/dZ,
 * Q_ic = sum_d |dG_ic/dz_id| |z_id|, S = sqrt(C) |column sums of |X~||, all measured along the exact run. The
 * recursion for e adds the errors of each step without amplifying them: gradient descent is non-expansive on a convex
 * loss with lr kappa <= 2, and exact between kinks on a piecewise-linear one, where a residual that may cross a kink
 * adds its jump once (delta counts rounding only: crossings are assumed not to cascade). Where a premise does not
 * hold (focal loss is not convex; lr kappa > 2) the match says so.
 */
final class CurveMatch {
    static final double U = 0x1p-24;

    private CurveMatch() {}

    /**
     * The result for one run.
     *
     * @param worstFraction the largest deviation as a fraction of the tolerance, over both curves and every step
     * @param worstStep     the step where that fraction is
     * @param worstCurve    "train" or "validation"
     * @param largestRelativeDeviation the largest |L_losskit - L_torch| / |L_torch|, over both curves and every step
     * @param toleranceRelativeAtWorst the tolerance at the worst step, relative to |L_torch|
     * @param largestToleranceRelative the largest tolerance over the run, relative to |L_torch|
     * @param premise       why the tolerance holds for this run, or what it assumes
     * @param failure       null, or why no tolerance could be derived at some step
     */
    record Match(String run, double worstFraction, int worstStep, String worstCurve, double largestRelativeDeviation,
                 double toleranceRelativeAtWorst, double largestToleranceRelative, String premise, String failure) {
        boolean within() {
            return failure == null && worstFraction <= 1;
        }
    }

    static Match compare(TourLoss loss, double[] train, double[] validation, TorchCurves.Run torch,
                         TourData.Dataset trainSet, TourData.Dataset validationSet, int outputs, double learningRate) {
        TourSpec.Run run = loss.run();
        ErrorBound bound = loss.op().float32Bound();
        int n = trainSet.rows();
        Geometry g = Geometry.of(trainSet, outputs);
        Geometry gv = Geometry.of(validationSet, outputs);
        double kappa = torch.curvatureBound();
        boolean piecewise = run.piecewiseLinear();
        String premise = piecewise ? null
                : run.loss().equals("focal") ? String.format(Locale.ROOT,
                        "focal loss is not convex: non-expansive steps assumed (lr kappa = %.2f)", learningRate * kappa)
                : learningRate * kappa <= 2 ? String.format(Locale.ROOT,
                        "convex, lr kappa = %.2f <= 2: steps are non-expansive", learningRate * kappa)
                : String.format(Locale.ROOT, "lr kappa = %.2f > 2: non-expansive steps assumed", learningRate * kappa);

        double[] gradNorm = torch.term("gradNorm"), validationGradNorm = torch.term("validationGradNorm");
        double[] absGrad = torch.term("absGrad"), maxG = torch.term("maxG"), curvature = torch.term("curvature");
        double[] gz = torch.term("gz"), validationGz = torch.term("validationGz");
        double[] thetaNorm = torch.term("thetaNorm"), maxZ = torch.term("maxZ");
        // a sum of n products accumulated in double and rounded once: relative error u + n 2^-53
        double backprop = U + n * 0x1p-53;

        double e = 0;            // bound on |theta_losskit(k) - theta_exact(k)|
        double smoothDrift = 0;  // its part from rounding alone
        int firstCrossing = -1;  // the first step at which a residual may have crossed a kink
        double worst = -1, worstRelative = 0, atWorst = 0, largestTolerance = 0;
        int worstStep = 0;
        String worstCurve = "train";
        String failure = null;
        for (int k = 0; k < train.length; k++) {
            for (int curve = 0; curve < 2; curve++) {
                boolean isTrain = curve == 0;
                double exact = isTrain ? torch.exactTrain()[k] : torch.exactValidation()[k];
                double theirs = isTrain ? torch.train()[k] : torch.validation()[k];
                double ours = isTrain ? train[k] : validation[k];
                double drift = piecewise ? run.maxSlope() * (isTrain ? g.meanRowNorm : gv.meanRowNorm) * e
                        : (isTrain ? gradNorm[k] : validationGradNorm[k]) * e
                          + 0.5 * (isTrain ? kappa : torch.validationCurvatureBound()) * e * e;
                double tolerance = Math.abs(theirs - exact) + bound.lossRelative() * Math.abs(exact)
                        + bound.lossAbsolute() + U * (isTrain ? gz[k] : validationGz[k]) + drift;
                double deviation = Math.abs(ours - theirs);
                double fraction = deviation == 0 ? 0 : deviation / tolerance;
                double scale = Math.abs(theirs);
                largestTolerance = Math.max(largestTolerance, tolerance / scale);
                worstRelative = Math.max(worstRelative, deviation / scale);
                if (fraction > worst || Double.isNaN(fraction)) {
                    worst = Double.isNaN(fraction) ? Double.POSITIVE_INFINITY : fraction;
                    worstStep = k;
                    worstCurve = isTrain ? "train" : "validation";
                    atWorst = tolerance / scale;
                }
            }
            if (k == train.length - 1) break;
            double gradientError = bound.gradientOfMax() * maxG[k] * g.absColumnSums
                    + bound.gradientRelative() * absGrad[k] + backprop * absGrad[k] + U * curvature[k];
            double jumps = 0;
            if (piecewise && failure == null) {
                // residuals of the exact run this close to the kink may have crossed it in the float32 run; the band
                // uses the rounding drift only, not earlier jumps: a crossing is counted once, at first order
                double band = g.maxRowNorm * smoothDrift + U * maxZ[k];
                double[] nearest = torch.kinks()[k];
                int inBand = 0;
                for (int p = 0; p < nearest.length; p += 2) {
                    if (nearest[p] > band) break;
                    jumps += run.slopeJump() * nearest[p + 1] / n;
                    inBand++;
                }
                if (inBand == nearest.length / 2) {
                    failure = "step " + k + ": all " + inBand + " recorded residuals lie within " + band
                            + " of the kink; the bound needs more of them";
                }
                if (inBand > 0 && firstCrossing < 0) firstCrossing = k;
            }
            double rounding = learningRate * gradientError + U * learningRate * gradNorm[k] + U * thetaNorm[k];
            smoothDrift += rounding;
            e += rounding + learningRate * jumps;
        }
        if (piecewise) {
            premise = firstCrossing < 0 ? "piecewise linear: steps are exact between kinks, and no residual comes near one"
                    : "piecewise linear: exact between kinks up to step " + firstCrossing + "; from there residuals "
                      + "near a kink may cross it, each counted once (first order: assumes crossings do not cascade)";
        }
        return new Match(run.name(), worst, worstStep, worstCurve, worstRelative, atWorst, largestTolerance, premise,
                failure);
    }

    /** What the bound needs of a dataset's rows x~ = (x, 1). */
    private record Geometry(double absColumnSums, double maxRowNorm, double meanRowNorm) {
        static Geometry of(TourData.Dataset data, int outputs) {
            double[] columnSums = new double[data.features() + 1];
            double maxNorm = 0, sumNorm = 0;
            for (int i = 0; i < data.rows(); i++) {
                double squares = 1;   // the bias input
                for (int j = 0; j < data.features(); j++) {
                    double x = data.feature(i, j);
                    columnSums[j] += Math.abs(x);
                    squares += x * x;
                }
                columnSums[data.features()] += 1;
                double norm = Math.sqrt(squares);
                maxNorm = Math.max(maxNorm, norm);
                sumNorm += norm;
            }
            double s = 0;
            for (double c : columnSums) s += c * c;
            // S = || |X~|^T 1 ||_F over the outputs' columns: sqrt(outputs) times the norm of |X~|'s column sums
            return new Geometry(Math.sqrt(outputs * s), maxNorm, sumNorm / data.rows());
        }
    }
}
