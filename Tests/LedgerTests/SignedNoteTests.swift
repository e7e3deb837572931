import Foundation
import Ledger
import Sodium
import Testing

/// C2SP signed notes, vkeys, checkpoints and cosignatures, against the specifications' examples.
struct SignedNoteTests {
    static let exampleVKey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    static let exampleNote = """
        This is an example message.

        — example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=

        """

    @Test func theSignedNoteSpecExampleVerifiesWithItsVKey() throws {
        let verifier = try #require(NoteVerifier(vkey: Self.exampleVKey))
        #expect(verifier.name == "example.com/foo")
        #expect(verifier.keyID == 0x530d_903a)
        #expect(verifier.vkey == Self.exampleVKey)
        let note = try #require(SignedNote.parse(Array(Self.exampleNote.utf8)))
        #expect(note.text == "This is an example message.\n")
        #expect(note.isSigned(by: verifier))
        #expect(note.encoded == Self.exampleNote)
        // Another text under the same signature fails.
        let changed = SignedNote(text: "This is an example message!\n", signatures: note.signatures)
        #expect(!changed.isSigned(by: verifier))
        // A signature by a key the verifier does not know is ignored; a bad one by the known key is not.
        var withOther = note
        withOther.signatures.append(NoteSignature(name: "example.com/other", keyID: 1, signature: [UInt8](repeating: 7, count: 64)))
        #expect(withOther.isSigned(by: verifier))
        var withBad = note
        withBad.signatures.append(NoteSignature(name: verifier.name, keyID: verifier.keyID, signature: [UInt8](repeating: 7, count: 64)))
        #expect(!withBad.isSigned(by: verifier))
    }

    @Test func aCheckpointSignedAndCosignedReadsBackAndVerifies() throws {
        let log = try SigningKey(), witness = try SigningKey()
        let checkpoint = LogCheckpoint(origin: "broker.example/log", size: 20_852_163, root: SHA2.sha256(Array("root".utf8)))
        var note = SignedNote.sign(text: checkpoint.text, name: checkpoint.origin, key: log)
        note.signatures.append(note.cosignature(name: "witness.example/w1", key: witness, time: 1_679_315_147))
        let read = try #require(SignedNote.parse(Array(note.encoded.utf8)))
        #expect(read == note)
        #expect(LogCheckpoint(text: read.text) == checkpoint)
        #expect(read.isSigned(by: NoteVerifier(name: "broker.example/log", key: log.verifyingKey)))
        let cosigner = NoteVerifier(name: "witness.example/w1", key: witness.verifyingKey, kind: .cosignature)
        #expect(read.isSigned(by: cosigner))
        #expect(NoteVerifier(vkey: cosigner.vkey) == cosigner)
        // The same key as a plain Ed25519 verifier has another key ID: its signature is not there.
        #expect(!read.isSigned(by: NoteVerifier(name: "witness.example/w1", key: witness.verifyingKey)))
        // A cosignature is over the checkpoint and its time: another time does not verify.
        var retimed = read
        retimed.signatures[1].signature.replaceSubrange(0..<8, with: UInt64(1_679_315_148).bigEndian.bytes)
        #expect(!retimed.isSigned(by: cosigner))
    }

    @Test func aVKeyWhoseBase64HoldsAPlusReadsBack() throws {
        var verifier: NoteVerifier
        repeat {
            verifier = NoteVerifier(name: "broker.example/log", key: try SigningKey().verifyingKey)
        } while !verifier.vkey.split(separator: "+", maxSplits: 2)[2].contains("+")
        #expect(NoteVerifier(vkey: verifier.vkey) == verifier)
    }

    @Test(arguments: [
        "broker.example/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "broker.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension line\n",
    ])
    func checkpointTextsReadBackAsWritten(text: String) throws {
        let checkpoint = try #require(LogCheckpoint(text: text))
        #expect(checkpoint.text == text)
    }

    @Test(arguments: [
        "broker.example/log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  // leading zero
        "broker.example/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",  // no final newline
        "broker.example/log\n20852163\n",  // no root
        "broker.example/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx==\n",  // not 32 bytes
        "broker.example/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  // an empty extension line
        "\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  // no origin
        "broker.example/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ])
    func malformedCheckpointsAreRefused(text: String) {
        #expect(LogCheckpoint(text: text) == nil)
    }

    @Test func malformedNotesAndVKeysAreRefused() {
        let line = "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
        for bad in [
            "This is an example message.\n" + line,  // no blank line
            "This is an\texample message.\n\n" + line,  // a control character
            "This is an example message.\n\n- example.com/foo AAAA\n",  // not an em dash
            "This is an example message.\n\n— example.com/foo not-base64!\n",
            "This is an example message.\n\n— example.com/foo AAAA\n",  // no signature after the key ID
            "This is an example message.\n\n" + String(line.dropLast()),  // no final newline
            "This is an example message.\n\n" + String(repeating: line, count: Limits.noteSignaturesMax + 1),
        ] {
            #expect(SignedNote.parse(Array(bad.utf8)) == nil, "\(bad.prefix(60))")
        }
        #expect(SignedNote.parse([0xFF, 0x0A, 0x0A]) == nil)
        #expect(SignedNote.parse(Array(String(repeating: "a", count: Limits.noteBytesMax).utf8) + [10, 10] + Array(line.utf8)) == nil)
        for bad in [
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // the ID does not match
            "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // upper-case hex
            "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // an unknown type
            "example.com foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a",
        ] {
            #expect(NoteVerifier(vkey: bad) == nil, "\(bad)")
        }
    }
}

extension UInt64 {
    fileprivate var bytes: [UInt8] { withUnsafeBytes(of: self) { Array($0) } }
}
