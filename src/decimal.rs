//! A number's decimal digits without going through `fmt`: the machine formats write millions
//! of line and column numbers, and a finding's pointer its entry's index (issue #11).

/// The digits of `n`, written at the end of `buf`.
pub fn digits(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_read_as_display_writes_them() {
        for n in [0, 7, 10, 99, 1234567, u32::MAX as usize, usize::MAX] {
            assert_eq!(super::digits(n, &mut [0; 20]), n.to_string());
        }
    }
}
