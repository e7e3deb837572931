// The libFuzzer harness over `FuzzTargets`. Built with `-DFUZZING` and `--sanitize=fuzzer`
// (.ci/fuzz), libFuzzer supplies `main` and this file must hold no top-level statement: it
// calls the target named by MYDATA_FUZZ_TARGET. In an ordinary build it replays inputs through
// the same functions (`mydata-fuzz replay <target> <file>…`). See docs/fuzzing.md.
import FuzzTargets

#if FUZZING
/// Reads MYDATA_FUZZ_TARGET and builds the target's keys and policy before the first input, so
/// that their cost and coverage are not counted as the first input's.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    _ = FuzzTarget.selected
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let rejection = FuzzTarget.selected.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    if FuzzTarget.verbose { print(rejection.map { "rejected: \($0)" } ?? "accepted") }
    return 0
}
#else
// A declaration rather than a statement: with `--sanitize=fuzzer` SwiftPM parses this file as a
// library, which refuses top-level statements even in an inactive `#if` branch. In an ordinary
// build, the initialiser runs as the program and never returns.
let replay: Void = FuzzCommand.main(CommandLine.arguments)
#endif
