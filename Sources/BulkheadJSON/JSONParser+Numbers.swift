// Numbers: the RFC 8259 grammar, exact integers, correctly rounded doubles.

extension JSONParser {
    func isDigit(at offset: Int) -> Bool {
        offset < input.count && input[offset] >= ASCII.zero && input[offset] <= ASCII.nine
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    mutating func parseNumber() throws(JSONError) -> JSON {
        let start = position
        let negative = input[position] == ASCII.minus
        if negative { position += 1 }
        // Every digit of the integer and fraction parts, while they fit in 64 bits.
        var digits = Digits()

        // Integer part.
        guard position < input.count else { throw error(.unexpectedEnd) }
        if input[position] == ASCII.zero {
            position += 1
            guard !isDigit(at: position) else { throw error(.invalidNumber) }
        } else if isDigit(at: position) {
            while isDigit(at: position) {
                digits.append(input[position])
                position += 1
            }
        } else {
            throw error(.invalidNumber)
        }
        var isInteger = true

        // Fraction.
        var fractionLength = 0
        if position < input.count, input[position] == ASCII.period {
            isInteger = false
            position += 1
            try requireDigit()
            while isDigit(at: position) {
                digits.append(input[position])
                fractionLength += 1
                position += 1
            }
        }

        // Exponent, saturated: anything past ±100000 is out of Double's range either way.
        var exponent = 0
        if position < input.count, input[position] == ASCII.lowerE || input[position] == ASCII.upperE {
            isInteger = false
            position += 1
            var exponentSign = 1
            if position < input.count, input[position] == ASCII.plus || input[position] == ASCII.minus {
                if input[position] == ASCII.minus { exponentSign = -1 }
                position += 1
            }
            try requireDigit()
            while isDigit(at: position) {
                if exponent < 100_000 {
                    exponent = exponent * 10 + Int(input[position] &- ASCII.zero)
                }
                position += 1
            }
            exponent *= exponentSign
        }

        guard position - start <= limits.maxNumberLength else {
            throw error(.numberTooLong(limit: limits.maxNumberLength), at: start)
        }
        if isInteger, !digits.overflowed {
            if !negative, digits.value <= UInt64(Int64.max) {
                return .int(Int64(digits.value))
            }
            if negative, digits.value <= Int64.min.magnitude {
                return .int(Int64(truncatingIfNeeded: 0 &- digits.value))
            }
        }
        // Exact fast path (Clinger): a mantissa below 2^53 and a power of ten up to 10^22 are
        // both exact Doubles, and one IEEE multiplication or division rounds correctly, so this
        // is the value a correct decimal conversion gives.
        let scale = exponent - fractionLength
        if !digits.overflowed, digits.value < 1 << 53, scale >= -22, scale <= 22 {
            let mantissa = Double(digits.value)
            let magnitude = scale < 0 ? mantissa / Self.powersOfTen[-scale] : mantissa * Self.powersOfTen[scale]
            return .double(negative ? -magnitude : magnitude)
        }
        // Otherwise the standard library's conversion, which also rounds correctly; the grammar
        // above admits only forms it reads. An integer too big for Int64 lands here too and
        // becomes the nearest Double.
        let text = UnsafeBufferPointer(rebasing: input[start..<position])
        guard let number = Double(String(decoding: text, as: UTF8.self)), number.isFinite else {
            throw error(.numberOutOfRange, at: start)
        }
        return .double(number)
    }

    /// 10^0 through 10^22, every one an exact Double.
    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Decimal digits accumulated into a UInt64, noting overflow rather than trapping.
    struct Digits {
        var value: UInt64 = 0
        var overflowed = false

        mutating func append(_ digit: UInt8) {
            guard !overflowed else { return }
            let (shifted, multiplyOverflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, addOverflow) = shifted.addingReportingOverflow(UInt64(digit &- ASCII.zero))
            overflowed = multiplyOverflow || addOverflow
            value = sum
        }
    }

    func requireDigit() throws(JSONError) {
        guard position < input.count else { throw error(.unexpectedEnd) }
        guard isDigit(at: position) else { throw error(.invalidNumber) }
    }
}
