import Broker
import Consent
import Foundation
import Sodium

extension FuzzTarget {
    /// A pull's sealed JSON page as its recipient opens it (there is no opener in the product:
    /// recipients, the CLI tests and the benchmark do this): `SealedBox.open` with the fixed
    /// recipient key, then the `Delivery` JSON and its digest. A sealed box changed by one bit
    /// does not open, so the input is also read as an already opened page.
    static func sealedPage(_ input: [UInt8]) throws {
        if let opened = try? SealedBox.open(input, with: FuzzKeys.recipient.boxKey) { return try openedPage(opened) }
        try openedPage(input)
    }

    /// The page's JSON: records decode, their canonical digest is what a recipient compares with
    /// the person's access log, and a page the broker could have written (identifiers only)
    /// reads back the same through `TransferService.deliveryJSON`.
    static func openedPage(_ plain: [UInt8]) throws {
        let page = try JSONDecoder().decode(TransferService.Delivery.self, from: Data(plain))
        let canonical = try page.records.map { try CanonicalJSON.encode($0) }
        _ = page.digest == TransferService.digest(ofCanonical: canonical)
        let names = [page.consentID] + [page.deliveryID, page.digest].compactMap { $0 }
        guard names.allSatisfy(Identifiers.isValidReference) else { return }
        // Cursors the broker writes are in their canonical form.
        let positions = page.positions.compactMap(RecordCursor.init)
        guard let after = RecordCursor(page.after), let next = RecordCursor(page.nextCursor), positions.count == page.positions.count,
            ([page.after, page.nextCursor] + page.positions) == ([after, next] + positions).map(\.description)
        else { return }
        let written = TransferService.deliveryJSON(
            TransferService.CanonicalDelivery(
                deliveryID: page.deliveryID, consentID: page.consentID, after: after, records: canonical, positions: positions,
                nextCursor: next, hasMore: page.hasMore, replayed: page.replayed, digest: page.digest, ledgerSequence: page.ledgerSequence))
        try FuzzCheck.require(
            JSONDecoder().decode(TransferService.Delivery.self, from: Data(written)) == page,
            "a page written by deliveryJSON reads back: \(String(decoding: written, as: UTF8.self))")
    }
}
