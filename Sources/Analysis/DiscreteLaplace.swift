import Foundation
import Sodium

/// Where noise gets its random bits: 64 at a time, little-endian from a byte stream.
public protocol RandomSource {
    mutating func next64() -> UInt64
}

extension RandomSource {
    /// A uniform integer in `0..<bound` (`bound` ≥ 1), by rejection: no modulo bias.
    public mutating func uniform(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "a uniform draw needs a positive bound")
        // 2⁶⁴ mod bound: draws below it would make the low residues likelier.
        let threshold = (0 &- bound) % bound
        while true {
            let r = next64()
            if r >= threshold { return r % bound }
        }
    }

    /// True with probability `numerator / denominator` (0 ≤ numerator ≤ denominator, denominator ≥ 1).
    public mutating func bernoulli(_ numerator: UInt64, _ denominator: UInt64) -> Bool {
        uniform(denominator) < numerator
    }

    /// True with probability exp(−numerator / denominator), exactly (Canonne, Kamath and Steinke
    /// 2020, Algorithm 1): only integer draws, never a floating-point exponential.
    public mutating func bernoulliExp(_ numerator: UInt64, _ denominator: UInt64) -> Bool {
        precondition(denominator > 0, "γ needs a positive denominator")
        var n = numerator
        // exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)).
        while n > denominator {
            guard bernoulliExp(1, 1) else { return false }
            n -= denominator
        }
        // γ ≤ 1: K is the first k with A_k = 0, A_k ~ Bernoulli(γ / k); exp(−γ) = P(K odd).
        var k: UInt64 = 1
        while true {
            let (scaled, overflow) = denominator.multipliedReportingOverflow(by: k)
            // γ/k below 2⁻⁶⁴·γ never happens in practice (k stays small): stop as if A_k = 0.
            guard !overflow, bernoulli(n, scaled) else { break }
            k += 1
        }
        return k % 2 == 1
    }
}

/// libsodium's CSPRNG (`randombytes_buf`), read in blocks.
public struct SodiumRandom: RandomSource {
    private var block = [UInt64](repeating: 0, count: 64)
    private var index = 64

    public init() {}

    public mutating func next64() -> UInt64 {
        if index == block.count {
            block.withUnsafeMutableBytes { Sodium.fillRandom($0) }
            index = 0
        }
        defer { index += 1 }
        return block[index]
    }
}

/// A reproducible stream for tests and known answers: block i is libsodium's
/// `randombytes_buf_deterministic` of 4,096 bytes under the seed BLAKE2b-256(seed ‖ i as u64 LE).
public struct SeededRandom: RandomSource {
    private let seed: [UInt8]
    private var counter: UInt64 = 0
    private var bytes: [UInt8] = []
    private var offset = 0

    public init(seed: [UInt8]) { self.seed = seed }

    public mutating func next64() -> UInt64 {
        if offset + 8 > bytes.count {
            var input = seed
            withUnsafeBytes(of: counter.littleEndian) { input += $0 }
            bytes = Sodium.deterministicRandomBytes(4_096, seed: BLAKE2b.hash256(input))
            counter += 1
            offset = 0
        }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * i) }
        offset += 8
        return value
    }
}

/// The discrete Laplace distribution on the integers with scale b = `scaleNumerator /
/// scaleDenominator`: P(X = x) = tanh(1 / 2b) · exp(−|x| / b). Sampled exactly with integer
/// arithmetic (Canonne, Kamath and Steinke 2020, Algorithm 2), so the noise has no
/// floating-point artefacts that would leak the value it hides (Mironov 2012).
public struct DiscreteLaplace: Sendable, Equatable {
    /// b = scaleNumerator / scaleDenominator, both ≥ 1.
    public let scaleNumerator: UInt64
    public let scaleDenominator: UInt64

    public init(scaleNumerator: UInt64, scaleDenominator: UInt64) {
        precondition(scaleNumerator > 0 && scaleDenominator > 0, "a discrete Laplace scale is a positive fraction")
        self.scaleNumerator = scaleNumerator
        self.scaleDenominator = scaleDenominator
    }

    /// The scale as a number, for statements and thresholds (never for sampling).
    public var scale: Double { Double(scaleNumerator) / Double(scaleDenominator) }

    /// One sample.
    public func sample<R: RandomSource>(_ random: inout R) -> Int64 {
        let t = scaleNumerator, s = scaleDenominator
        while true {
            let u = random.uniform(t)
            guard random.bernoulliExp(u, t) else { continue }
            var v: UInt64 = 0
            while random.bernoulliExp(1, 1) { v += 1 }
            // X = U + t·V is geometric with parameter exp(−1/t); Y = ⌊X / s⌋ with exp(−s/t).
            let (tv, o1) = t.multipliedReportingOverflow(by: v)
            let (x, o2) = u.addingReportingOverflow(tv)
            guard !o1, !o2 else { continue }
            let y = x / s
            let negative = random.bernoulli(1, 2)
            if negative && y == 0 { continue }
            guard y <= UInt64(Int64.max) else { continue }
            return negative ? -Int64(y) : Int64(y)
        }
    }

    /// P(X = x), for tests against the declared distribution.
    public func probability(of x: Int64) -> Double {
        let b = scale
        return tanh(1 / (2 * b)) * exp(-Double(x.magnitude) / b)
    }

    /// The smallest τ with P(X ≥ τ) ≤ δ (P(X ≥ τ) = exp(−τ/b) / (1 + exp(−1/b)) ≤ exp(−τ/b)).
    public func tailBound(delta: Double) -> Int64 {
        Int64((scale * (-log(delta))).rounded(.up))
    }
}
