//! The tallies of a summary: the verdict values it counts, in the order of the report format,
//! with whether each is good news, and the charts the human summaries draw from them.

use super::model::{AnswerKind, Bar, Chart, Row, ScanSummary, Section, Share, Tone};
use crate::report::{labels, DaneVerdict, Delivery, StsVerdict, TlsRptVerdict};

impl ScanSummary {
    /// The five tallies as charts, in the order the human summaries show them.
    pub(crate) fn charts(&self) -> [Chart; 5] {
        fn chart<T: Category>(
            section: Section,
            rows: &[Row<T>],
            label: fn(T) -> &'static str,
        ) -> Chart {
            Chart {
                section,
                bars: rows
                    .iter()
                    .map(|r| Bar {
                        label: label(r.value),
                        count: r.count,
                        percent: r.percent,
                        tone: r.value.tone(),
                    })
                    .collect(),
            }
        }
        [
            chart(Section::MtaSts, &self.mta_sts, StsVerdict::name),
            chart(Section::Dane, &self.dane, DaneVerdict::name),
            chart(Section::TlsRpt, &self.tls_rpt, TlsRptVerdict::name),
            chart(Section::Delivery, &self.delivery, Delivery::name),
            chart(Section::Answers, &self.answers, labels::answer),
        ]
    }
}

/// A verdict value that a summary counts: every value in the order of the report format.
pub(crate) trait Category: Copy + Eq + 'static {
    /// Every value, in order.
    const ALL: &'static [Self];
    /// The value as written in JSON and in the reports.
    fn name(self) -> &'static str;
    /// Good news or bad.
    fn tone(self) -> Tone;
    /// The position in [`Self::ALL`].
    fn index(self) -> usize {
        Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

impl Category for StsVerdict {
    const ALL: &'static [Self] = &[
        Self::Enforce,
        Self::Testing,
        Self::None,
        Self::Absent,
        Self::Invalid,
    ];
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn tone(self) -> Tone {
        match self {
            Self::Enforce => Tone::Good,
            Self::Testing => Tone::Partial,
            Self::None | Self::Absent => Tone::Neutral,
            Self::Invalid => Tone::Bad,
        }
    }
}

impl Category for DaneVerdict {
    const ALL: &'static [Self] = &[
        Self::Usable,
        Self::Unusable,
        Self::Insecure,
        Self::Bogus,
        Self::Absent,
    ];
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn tone(self) -> Tone {
        match self {
            Self::Usable => Tone::Good,
            Self::Unusable => Tone::Partial,
            Self::Insecure | Self::Absent => Tone::Neutral,
            Self::Bogus => Tone::Bad,
        }
    }
}

impl Category for TlsRptVerdict {
    const ALL: &'static [Self] = &[Self::Present, Self::Absent, Self::Invalid];
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn tone(self) -> Tone {
        match self {
            Self::Present => Tone::Good,
            Self::Absent => Tone::Neutral,
            Self::Invalid => Tone::Bad,
        }
    }
}

impl Category for Delivery {
    const ALL: &'static [Self] = &[
        Self::Authenticated,
        Self::Encrypted,
        Self::Opportunistic,
        Self::Deferred,
        Self::NoMail,
    ];
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn tone(self) -> Tone {
        match self {
            Self::Authenticated => Tone::Good,
            Self::Encrypted => Tone::Partial,
            Self::Opportunistic | Self::NoMail => Tone::Neutral,
            Self::Deferred => Tone::Bad,
        }
    }
}

impl Category for AnswerKind {
    const ALL: &'static [Self] = &[
        Self::DaneOnly,
        Self::Dane,
        Self::Secure,
        Self::Encrypt,
        Self::NotFound,
        Self::Temp,
        Self::Other,
    ];
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn tone(self) -> Tone {
        match self {
            Self::DaneOnly | Self::Dane | Self::Secure => Tone::Good,
            Self::Encrypt => Tone::Partial,
            Self::NotFound | Self::Other => Tone::Neutral,
            Self::Temp => Tone::Bad,
        }
    }
}

/// A count per value of one [`Category`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub(super) struct Tally<T> {
    counts: Vec<u64>,
    kind: std::marker::PhantomData<T>,
}

impl<T: Category> Default for Tally<T> {
    fn default() -> Self {
        Self {
            counts: vec![0; T::ALL.len()],
            kind: std::marker::PhantomData,
        }
    }
}

impl<T: Category> Tally<T> {
    /// Counts one domain with `value`.
    pub(super) fn add(&mut self, value: T) {
        if let Some(c) = self.counts.get_mut(value.index()) {
            *c += 1;
        }
    }

    /// Every value with its count and its share of `total`.
    pub(super) fn rows(&self, total: u64) -> Vec<Row<T>> {
        T::ALL
            .iter()
            .zip(&self.counts)
            .map(|(value, count)| {
                let share = Share::of(*count, total);
                Row {
                    value: *value,
                    count: share.count,
                    percent: share.percent,
                }
            })
            .collect()
    }
}
