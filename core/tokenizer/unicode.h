#pragma once
// Unicode character properties and normalization forms (through ICU's C API),
// with the alignment bookkeeping of NormalizedString.

#include "tokenizer/normalized_string.h"

#include <string>

namespace tokenlens::tok::unicode {

enum class Form { NFC, NFD, NFKC, NFKD };

// Rewrites `ns` in the given normalization form. Characters that do not
// change keep their per-byte alignment; a run that changes (e + U+0301 -> é)
// maps onto the original span of the whole run.
void normalize(NormalizedString& ns, Form form);

// Full (context-free) lowercase mapping of every character, as Rust's
// char::to_lowercase.
void lowercase(NormalizedString& ns);

bool isWhitespace(char32_t c);   // White_Space property (Rust char::is_whitespace)
bool isNumeric(char32_t c);      // Nd, Nl, No (Rust char::is_numeric)
bool isAlphanumeric(char32_t c); // Alphabetic or numeric
bool isPunctuation(char32_t c);  // ASCII punctuation or a P* category
bool isNonSpacingMark(char32_t c); // Mn

} // namespace tokenlens::tok::unicode
