//! Postfix integration: socketmap netstrings, lookup keys and policy replies.
