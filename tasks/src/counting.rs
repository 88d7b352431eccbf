//! The counting task of Lazar, Pipa and Triesch (2009): an endless stream of the words
//! "A B…B C" and "D E…E F", each with `n` repeats of its middle letter, the next word chosen
//! at random with probability ½ each. Predicting the end of a word means counting the
//! repeats; the first letter of a word cannot be predicted.

use rand::Rng;

use crate::TaskError;

/// Letters of the task's alphabet, in symbol order.
pub const COUNTING_ALPHABET: [char; 6] = ['A', 'B', 'C', 'D', 'E', 'F'];

/// The counting task with `repeats` middle letters per word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountingTask {
    /// n: how often the middle letter repeats.
    pub repeats: usize,
}

impl CountingTask {
    /// The task for `repeats` ≥ 1.
    pub fn new(repeats: usize) -> Result<Self, TaskError> {
        if repeats == 0 {
            return Err(TaskError::InvalidConfig(
                "the counting task needs at least 1 repeat of the middle letter".into(),
            ));
        }
        Ok(Self { repeats })
    }

    /// Symbols 0…5 (A…F).
    pub fn symbols(self) -> usize {
        COUNTING_ALPHABET.len()
    }

    /// `steps` symbols of the stream, starting at the beginning of a word.
    pub fn generate(self, steps: usize, rng: &mut impl Rng) -> Vec<u8> {
        let mut stream = Vec::with_capacity(steps.saturating_add(1));
        while stream.len() < steps {
            // Word 0: A B…B C; word 1: D E…E F (cut at `steps`, however long the word).
            let first = if rng.random_bool(0.5) { 0 } else { 3 };
            stream.push(first);
            let repeats = self.repeats.min(steps - stream.len());
            stream.extend(std::iter::repeat_n(first + 1, repeats));
            stream.push(first + 2);
        }
        stream.truncate(steps);
        stream
    }

    /// Whether `symbol` begins a word, so that no history predicts it.
    pub fn begins_word(symbol: u8) -> bool {
        symbol == 0 || symbol == 3
    }

    /// Whether `symbol` ends a word: only a count of the repeats before it predicts it.
    pub fn ends_word(symbol: u8) -> bool {
        symbol == 2 || symbol == 5
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_stream_is_whole_words_of_both_kinds() {
        let task = CountingTask::new(3).unwrap();
        let stream = task.generate(5000, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(stream.len(), 5000);
        let words: Vec<&[u8]> = stream.chunks(5).take(999).collect();
        for word in &words {
            let first = word[0];
            assert!(CountingTask::begins_word(first), "{word:?}");
            assert_eq!(word, &[first, first + 1, first + 1, first + 1, first + 2]);
            assert!(CountingTask::ends_word(word[4]));
        }
        let abc = words.iter().filter(|w| w[0] == 0).count();
        assert!((400..600).contains(&abc), "{abc} of 999 words are A B…B C");
        assert!(CountingTask::new(0).is_err());
    }
}
