import Broker
import Consent
import Foundation
import Ledger
import Sodium

extension FuzzTarget {
    /// A tlog-proof text through `TlogProof.parse` (with the signed note and the checkpoint in
    /// it) and `DeliveryProofVerifier.verify` with the fixed broker key (the `extra` line's event,
    /// its hash, the inclusion proof). What parses must write back to the same proof, and a
    /// proof the broker builds again over the same leaf must verify.
    static func logProof(_ input: [UInt8]) throws {
        guard let text = String(validating: input, as: UTF8.self), let proof = TlogProof.parse(text) else {
            throw ReceiptError("not a tlog-proof")
        }
        FuzzCheck.require(TlogProof.parse(proof.encoded) == proof, "a parsed proof reads back from its own text")
        if let checkpoint = LogCheckpoint(text: proof.checkpoint.text) {
            FuzzCheck.require(LogCheckpoint(text: checkpoint.text) == checkpoint, "a checkpoint reads back from its own text")
        }
        let broker = FuzzKeys.broker.signingKey.verifyingKey
        _ = try? DeliveryProofVerifier.verify(text, brokerKey: broker, trust: .init())
        // The same index in a small tree built from RFC 9162's definitions: always verifies.
        let size = Int(proof.index % 300) + 1
        let leaves = (0..<size).map { MerkleTree.leafHash(SHA2.sha256(Array("fuzz \($0)".utf8))) }
        let origin = LogOrigin.derived(from: broker)
        let index = Int(proof.index / 300) % size
        let rebuilt = try proofOver(leaves, index: UInt64(index), origin: origin, cosigned: false)
        FuzzCheck.require(
            (try? rebuilt.verify(leafHash: leaves[index], log: NoteVerifier(name: origin, key: broker))) != nil,
            "a proof built from RFC 9162's definitions verifies")
    }

    /// A proof of leaf `index` in the tree of `leaves`, on a checkpoint the fixed broker key signed
    /// (and, when `cosigned`, a fixed witness cosigned); its `extra` line a delivery event. The
    /// tree is computed here from RFC 9162's recursive definitions, not with `MerkleTree`'s
    /// node readers, so that each checks the other.
    static func proofOver(_ leaves: [MerkleTree.Hash], index: UInt64, origin: String, cosigned: Bool) throws -> TlogProof {
        var note = SignedNote.sign(
            text: LogCheckpoint(origin: origin, size: UInt64(leaves.count), root: mth(leaves[...])).text, name: origin,
            key: FuzzKeys.broker.signingKey)
        if cosigned { note.signatures.append(note.cosignature(name: "witness.example/w1", key: FuzzKeys.recipient.signingKey, time: 1_796_083_200)) }
        let delivery = DomainEvent.dataDelivered(
            DataDelivered(
                deliveryID: "dlv_fuzz", consentID: "con_fuzz", subject: FuzzKeys.person.id, recipient: "safedrive", items: ["vehicle.driving"],
                records: 3, digest: "0123456789abcdef0123456789abcdef"))
        let event = RecordedEvent.chained(try delivery.newEvent(authorID: AuthorID.broker, time: FuzzKeys.now), after: .genesis)
        return TlogProof(extra: try CanonicalJSON.encode(LoggedEvent(event)), index: index, hashes: path(Int(index), leaves[...]), checkpoint: note)
    }

    /// MTH (RFC 9162 2.1.1) of leaf hashes.
    private static func mth(_ d: ArraySlice<MerkleTree.Hash>) -> MerkleTree.Hash {
        if d.isEmpty { return MerkleTree.emptyRoot }
        if d.count == 1 { return d.first! }
        let k = 1 << (Int.bitWidth - 1 - (d.count - 1).leadingZeroBitCount)
        return MerkleTree.nodeHash(mth(d.prefix(k)), mth(d.dropFirst(k)))
    }

    /// PATH(m, D) (RFC 9162 2.1.3.1), leaf side first.
    private static func path(_ m: Int, _ d: ArraySlice<MerkleTree.Hash>) -> [MerkleTree.Hash] {
        guard d.count > 1 else { return [] }
        let k = 1 << (Int.bitWidth - 1 - (d.count - 1).leadingZeroBitCount)
        return m < k ? path(m, d.prefix(k)) + [mth(d.dropFirst(k))] : path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
    }
}
