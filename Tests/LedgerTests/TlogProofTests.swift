import Foundation
import Ledger
import Sodium
import Testing

/// c2sp.org/tlog-proof@v1: the text form, and the four verification steps, each one failing alone.
struct TlogProofTests {
    /// A log of `size` entries (entry i is SHA-256 of its index), signed by `log` and cosigned by `witnesses`.
    struct Log {
        let origin = "broker.example/log"
        let key: SigningKey
        let leaves: [MerkleTree.Hash]
        let note: SignedNote

        init(size: Int, key: SigningKey, witnesses: [(String, SigningKey)] = []) async throws {
            self.key = key
            leaves = (0..<size).map { MerkleTree.leafHash(SHA2.sha256(Array("\($0)".utf8))) }
            let root = try await MerkleTree.root(size: UInt64(size), node: Self.reader(leaves))
            var note = SignedNote.sign(text: LogCheckpoint(origin: origin, size: UInt64(size), root: root).text, name: origin, key: key)
            for (name, witness) in witnesses { note.signatures.append(note.cosignature(name: name, key: witness, time: 1_767_225_600)) }
            self.note = note
        }

        static func reader(_ leaves: [MerkleTree.Hash]) -> MerkleTree.NodeReader {
            { height, index in
                func node(_ h: Int, _ i: UInt64) -> MerkleTree.Hash {
                    h == 0 ? leaves[Int(i)] : MerkleTree.nodeHash(node(h - 1, 2 * i), node(h - 1, 2 * i + 1))
                }
                return node(height, index)
            }
        }

        func proof(_ index: UInt64, extra: [UInt8]? = nil) async throws -> TlogProof {
            let hashes = try await MerkleTree.inclusionProof(index: index, size: UInt64(leaves.count), node: Self.reader(leaves))
            return TlogProof(extra: extra, index: index, hashes: hashes, checkpoint: note)
        }

        var verifier: NoteVerifier { NoteVerifier(name: origin, key: key.verifyingKey) }
    }

    @Test func aProofReadsBackFromItsTextAndVerifiesForEveryEntry() async throws {
        let log = try await Log(size: 13, key: try SigningKey())
        for index in 0..<UInt64(13) {
            let proof = try await log.proof(index, extra: index == 3 ? Array("context".utf8) : nil)
            let text = proof.encoded
            #expect(text.hasPrefix("c2sp.org/tlog-proof@v1\n" + (index == 3 ? "extra Y29udGV4dA==\n" : "") + "index \(index)\n"))
            let parsed = try #require(TlogProof.parse(text))
            #expect(parsed == proof)
            let (checkpoint, cosigners) = try parsed.verify(leafHash: log.leaves[Int(index)], log: log.verifier)
            #expect(checkpoint.size == 13 && cosigners.isEmpty)
            // Another entry at the same index does not verify.
            #expect(throws: TlogProof.Failure.self) { try parsed.verify(leafHash: log.leaves[Int((index + 1) % 13)], log: log.verifier) }
        }
    }

    @Test func theWitnessQuorumCountsOnlyValidCosignaturesFromKnownWitnesses() async throws {
        let w1 = try SigningKey(), w2 = try SigningKey(), stranger = try SigningKey()
        let log = try await Log(size: 5, key: try SigningKey(), witnesses: [("w1.example", w1), ("w2.example", w2), ("w3.example", stranger)])
        let proof = try await log.proof(4)
        let known = [
            NoteVerifier(name: "w1.example", key: w1.verifyingKey, kind: .cosignature),
            NoteVerifier(name: "w2.example", key: w2.verifyingKey, kind: .cosignature),
            NoteVerifier(name: "w4.example", key: try SigningKey().verifyingKey, kind: .cosignature),
        ]
        let (_, cosigners) = try proof.verify(leafHash: log.leaves[4], log: log.verifier, witnesses: known, quorum: 2)
        #expect(cosigners == ["w1.example", "w2.example"])
        #expect(throws: TlogProof.Failure.self) { try proof.verify(leafHash: log.leaves[4], log: log.verifier, witnesses: known, quorum: 3) }
        // A cosignature by a known witness's name but another key is not counted.
        let impostor = NoteVerifier(name: "w3.example", key: try SigningKey().verifyingKey, kind: .cosignature)
        #expect(throws: TlogProof.Failure.self) { try proof.verify(leafHash: log.leaves[4], log: log.verifier, witnesses: [impostor], quorum: 1) }
    }

    @Test func aProofFailsForAnotherLogKeyOriginOrTree() async throws {
        let log = try await Log(size: 9, key: try SigningKey())
        let proof = try await log.proof(2)
        let otherKey = NoteVerifier(name: log.origin, key: try SigningKey().verifyingKey)
        #expect(throws: TlogProof.Failure.self) { try proof.verify(leafHash: log.leaves[2], log: otherKey) }
        let otherOrigin = NoteVerifier(name: "broker.example/other", key: log.key.verifyingKey)
        #expect(throws: TlogProof.Failure.self) { try proof.verify(leafHash: log.leaves[2], log: otherOrigin) }
        var moved = proof
        moved.index = 3
        #expect(throws: TlogProof.Failure.self) { try moved.verify(leafHash: log.leaves[2], log: log.verifier) }
        var outside = proof
        outside.index = 9
        #expect(throws: TlogProof.Failure.self) { try outside.verify(leafHash: log.leaves[2], log: log.verifier) }
    }

    @Test func malformedProofsAreNotRead() async throws {
        let log = try await Log(size: 3, key: try SigningKey())
        let good = try await log.proof(1).encoded
        let hash = Data(repeating: 1, count: 32).base64EncodedString()
        let bad = [
            good.replacingOccurrences(of: "c2sp.org/tlog-proof@v1", with: "c2sp.org/tlog-proof@v2"),
            good.replacingOccurrences(of: "index 1", with: "index 01"),
            good.replacingOccurrences(of: "index 1", with: "index -1"),
            good.replacingOccurrences(of: "index 1\n", with: "index 1\nnot base64\n"),
            good.replacingOccurrences(of: "index 1\n", with: "index 1\n" + Data(repeating: 1, count: 31).base64EncodedString() + "\n"),
            good.replacingOccurrences(of: "index 1\n", with: "index 1\n" + String(repeating: hash + "\n", count: 64)),
            good.replacingOccurrences(of: "index 1\n", with: "extra !!\nindex 1\n"),
            String(good.prefix(while: { $0 != "\n" })),
            "",
        ]
        for text in bad { #expect(TlogProof.parse(text) == nil, "\(text)") }
        #expect(TlogProof.parse(good) != nil)
    }
}
