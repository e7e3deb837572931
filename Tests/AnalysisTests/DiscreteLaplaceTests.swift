import Analysis
import Foundation
import Sodium
import Testing

/// Random words given in advance: the sampler's steps can be followed by hand.
struct ScriptedRandom: RandomSource {
    var words: [UInt64]
    var used = 0
    mutating func next64() -> UInt64 {
        defer { used += 1 }
        return words[used]
    }
}

struct DiscreteLaplaceTests {
    /// Known answers worked out by hand from Canonne, Kamath and Steinke's Algorithms 1 and 2 for
    /// scale 1 (t = s = 1), where every uniform draw below 1 is 0 and Bernoulli(1/2) is the low bit.
    @Test func samplerFollowsTheAlgorithmOnKnownWords() {
        let unit = DiscreteLaplace(scaleNumerator: 1, scaleDenominator: 1)
        // U = 0; D: Bernoulli(0/1) fails at once, K = 1 odd: accept. V: A₁ = 1 (0 < 1), A₂ = 0
        // (1 is odd), K = 2 even: stop, V = 0. Y = 0; B = 0 (3 is odd): +0.
        var zero = ScriptedRandom(words: [0, 0, 0, 1, 3])
        #expect(unit.sample(&zero) == 0)
        #expect(zero.used == 5)
        // As above, but the first exp(−1) draw succeeds: A₁ = 1, A₂ = 1 (0 even), A₃ = 0 (5 mod 3 =
        // 2 ≥ 1), K = 3 odd: V = 1; the second: A₁ = 1, A₂ = 0, K = 2: stop. X = 1, Y = 1; B = 0: +1.
        var one = ScriptedRandom(words: [0, 0, 0, 0, 5, 0, 1, 1])
        #expect(unit.sample(&one) == 1)
        #expect(one.used == 8)
        // Y = 0 with B = 1 is drawn again (so that 0 is not counted twice); then Y = 1 with B = 1: −1.
        var minus = ScriptedRandom(words: [0, 0, 0, 1, 2, /* again */ 0, 0, 0, 0, 5, 0, 1, 0])
        #expect(unit.sample(&minus) == -1)
        #expect(minus.used == 13)
    }

    /// The sampler's output on libsodium's deterministic stream is fixed: a change to how it
    /// draws shows here before it shows anywhere else.
    @Test func samplerOutputOnASeededStreamIsPinned() {
        var random = SeededRandom(seed: Array(repeating: 7, count: 32))
        let noise = DiscreteLaplace(scaleNumerator: 5, scaleDenominator: 2)
        let samples = (0..<16).map { _ in noise.sample(&random) }
        #expect(samples == Self.pinned, "got \(samples)")
    }
    static let pinned: [Int64] = [-3, 1, -5, -2, 9, 8, 1, -1, -4, -7, 1, -1, 0, 1, 4, 1]

    /// 100,000 samples at scale 2.5 against the exact probabilities: the chi-square statistic
    /// over 31 cells and two tails stays under the 0.1% critical value (the stream is seeded, so
    /// the test gives the same answer every run).
    @Test(arguments: [(UInt64(5), UInt64(2)), (1, 1), (40, 3)])
    func samplesMatchTheDeclaredDistribution(numerator: UInt64, denominator: UInt64) {
        let noise = DiscreteLaplace(scaleNumerator: numerator, scaleDenominator: denominator)
        var random = SeededRandom(seed: Array(repeating: UInt8(numerator), count: 32))
        let n = 100_000
        // Cells −w…w where each expects at least 5 samples, and the two tails.
        var w: Int64 = 0
        while Double(n) * noise.probability(of: w + 1) >= 5 { w += 1 }
        var counts: [Int64: Int] = [:]
        for _ in 0..<n {
            let x = noise.sample(&random)
            counts[min(max(x, -w - 1), w + 1), default: 0] += 1
        }
        var expected: [Int64: Double] = [:]
        for x in -w...w { expected[x] = Double(n) * noise.probability(of: x) }
        let inside = expected.values.reduce(0, +)
        expected[-w - 1] = (Double(n) - inside) / 2
        expected[w + 1] = (Double(n) - inside) / 2
        let chiSquare = expected.reduce(0.0) { sum, cell in
            let observed = Double(counts[cell.key] ?? 0)
            return sum + (observed - cell.value) * (observed - cell.value) / cell.value
        }
        let df = Double(expected.count - 1)
        // Wilson–Hilferty: the chi-square quantile at 1 − 0.001 (z = 3.09).
        let critical = df * pow(1 - 2 / (9 * df) + 3.09 * (2 / (9 * df)).squareRoot(), 3)
        #expect(chiSquare < critical, "χ² = \(chiSquare) over \(Int(df)) degrees of freedom, critical \(critical)")
    }

    @Test func bernoulliOfAnExponentialHasItsProbability() {
        var random = SeededRandom(seed: Array(repeating: 3, count: 32))
        let n = 100_000
        for (numerator, denominator) in [(UInt64(3), UInt64(2)), (1, 4), (0, 1), (7, 1)] {
            let hits = (0..<n).filter { _ in random.bernoulliExp(numerator, denominator) }.count
            let p = exp(-Double(numerator) / Double(denominator))
            let sigma = (Double(n) * p * (1 - p)).squareRoot()
            #expect(abs(Double(hits) - Double(n) * p) <= 5 * sigma + 1, "exp(−\(numerator)/\(denominator)): \(hits) of \(n)")
        }
    }

    @Test func uniformDrawsAreUnbiasedForAnAwkwardBound() {
        var random = SeededRandom(seed: Array(repeating: 9, count: 32))
        // A bound just above 2⁶³: a modulo without rejection would make the low half twice as likely.
        let bound = UInt64(1) << 63 + 1
        let low = (0..<20_000).filter { _ in random.uniform(bound) < bound / 2 }.count
        #expect(abs(low - 10_000) < 5 * 71)
    }

    @Test func tailBoundKeepsTheTailBelowDelta() {
        for (t, s) in [(UInt64(1), UInt64(1)), (5, 2), (1000, 7)] {
            let noise = DiscreteLaplace(scaleNumerator: t, scaleDenominator: s)
            for delta in [1e-3, 1e-9] {
                let tau = noise.tailBound(delta: delta)
                // P(X ≥ τ) summed exactly over the tail.
                var tail = 0.0
                var x = tau
                while true {
                    let p = noise.probability(of: x)
                    tail += p
                    if p < 1e-300 || x > tau + 100_000 { break }
                    x += 1
                }
                #expect(tail <= delta, "scale \(noise.scale), δ \(delta): τ \(tau) leaves \(tail)")
            }
        }
    }
}
