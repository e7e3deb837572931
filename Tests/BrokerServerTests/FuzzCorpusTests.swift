import Foundation
import FuzzTargets
import Testing

/// The committed fuzz corpus (Tests/Fuzz/corpus, docs/fuzzing.md) through the same functions
/// libFuzzer runs, in the ordinary build: a crash libFuzzer once found stays fixed, and the seeds
/// stay real examples that every step of their target accepts.
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    @Test(
        "every seed of every fuzz target is accepted, and every kept crash input is refused without a crash",
        arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let files = FuzzCommand.inputs(at: Self.corpus.appendingPathComponent(target.rawValue).path)
        #expect(!files.isEmpty, "Tests/Fuzz/corpus/\(target.rawValue) holds the target's seeds")
        for file in files {
            let input = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            let rejection = target.run(input)
            // Inputs kept from crashes are named `regression-…`; they need only not crash.
            if !URL(fileURLWithPath: file).lastPathComponent.hasPrefix("regression-") {
                #expect(rejection == nil, "seed \(file) is rejected: \(String(describing: rejection))")
            }
        }
    }
}
