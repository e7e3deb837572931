import Broker
import Foundation
import Sodium

extension FuzzTarget {
    /// The passphrase of the sealed key file seed.
    public static let keyFilePassphrase = Array("fuzz passphrase".utf8)

    /// Argon2id memory above which the harness declines to derive a key (the passphrase prompt
    /// "fails"): the product allows up to `InputLimits.kdfMemoryBytesMax` (256 MiB), a cost
    /// it bounds on purpose, which at one input per derivation would stall the fuzzer.
    static let keyFileMemoryBytesMax: UInt64 = 64 * 1024

    private struct CostProbe: Decodable {
        struct KDF: Decodable { var opsLimit: UInt64; var memLimit: UInt64 }
        var kdf: KDF?
    }

    /// A key file's bytes through `KeyFile.publicKeys(contents:)` and `KeyFile.read(contents:)`;
    /// an identity read must carry the public keys the file states.
    static func keyFile(_ input: [UInt8]) throws {
        let data = Data(input)
        let stated = try KeyFile.publicKeys(contents: data, path: "fuzz.key")
        let cost = (try? JSONDecoder().decode(CostProbe.self, from: data))?.kdf
        let identity = try KeyFile.read(contents: data, path: "fuzz.key") {
            guard let cost, cost.memLimit <= keyFileMemoryBytesMax else { throw KeyFileError("declined: Argon2id too costly to fuzz") }
            return keyFilePassphrase
        }
        FuzzCheck.require(identity.publicKeys == stated, "a key file read yields the public keys it states")
    }
}
