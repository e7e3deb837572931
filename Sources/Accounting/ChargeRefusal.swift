/// Why `ChargePlan.make` could not plan a charge.
public struct ChargeRefusal: Error, Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    /// Stable snake_case codes; never rename, only append.
    public enum Code: String, Sendable, Codable, Equatable, Hashable {
        case chargeIDInvalid = "charge_id_invalid"
        case priceMustBePositive = "price_must_be_positive"
        /// A negative share, or shares that do not add up to the price.
        case splitMustSumToPrice = "split_must_sum_to_price"
        /// Usable vouchers and cash together hold less than the price.
        case insufficientFunds = "insufficient_funds"
    }

    public let code: Code
    /// The won missing, for `insufficientFunds`; otherwise 0.
    public let shortfall: Int64

    public init(_ code: Code, shortfall: Int64 = 0) {
        self.code = code
        self.shortfall = shortfall
    }

    public var description: String {
        switch code {
        case .chargeIDInvalid:
            "\(code.rawValue): use 1 to \(AccountingLimits.chargeIDCharactersMax) characters of a-z A-Z 0-9 - _ . :"
        case .priceMustBePositive: "\(code.rawValue): a charge moves at least 1 won"
        case .splitMustSumToPrice: "\(code.rawValue): the shares must be non-negative and add up to the price"
        case .insufficientFunds: "\(code.rawValue): \(shortfall) won short; top up cash or obtain a voucher"
        }
    }
}
