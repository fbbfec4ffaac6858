"""LoRa modem arithmetic: time on air, bit rate and sensitivity from the modem settings.

Pure functions of the modem parameters, with the names of the Semtech documents:
``sf`` spreading factor (6..12), ``bw`` bandwidth in Hz, ``cr`` coding rate 1..4 meaning
4/5..4/8, ``preamble`` programmed preamble symbols, ``ldro`` low data rate optimisation.
The time-on-air formula is the one of Semtech AN1200.13 and the SX1276 datasheet
§4.1.1.7; nothing here rounds beyond what that formula does.
"""

from __future__ import annotations

import math

LDRO_SYMBOL_LIMIT_S = 0.016
"""Semtech: low data rate optimisation is mandated above 16 ms symbols (SF11 and SF12 at
125 kHz, SF12 at 250 kHz), where clock drift over a symbol would break demodulation."""

SNR_LIMIT_DB = {6: -5.0, 7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
"""Demodulator SNR floor per spreading factor (SX1276 datasheet table 13): each step of
SF buys 2.5 dB."""


def symbol_time_s(sf: int, bw: float) -> float:
    """One chirp: 2**SF chips at one chip per hertz of bandwidth."""
    return float(2**sf) / bw


def ldro_required(sf: int, bw: float) -> bool:
    """The SF/BW rule that ``low_data_rate_optimize = "auto"`` applies."""
    return symbol_time_s(sf, bw) > LDRO_SYMBOL_LIMIT_S


def payload_symbols(
    sf: int, cr: int, payload_len: int, *, explicit_header: bool, crc: bool, ldro: bool
) -> int:
    """Symbols after the preamble: 8 fixed plus whole coding blocks for header, bytes, CRC."""
    bits = 8 * payload_len - 4 * sf + 28 + 16 * int(crc) - 20 * int(not explicit_header)
    per_block = 4 * (sf - 2 * int(ldro))
    blocks = max(math.ceil(bits / per_block), 0)
    return 8 + blocks * (cr + 4)


def airtime_s(
    sf: int,
    bw: float,
    cr: int,
    preamble: int,
    payload_len: int,
    *,
    explicit_header: bool = True,
    crc: bool = True,
    ldro: bool = False,
) -> float:
    """Time on air of one packet of ``payload_len`` bytes (AN1200.13, SX1276 §4.1.1.7)."""
    t_sym = symbol_time_s(sf, bw)
    t_preamble = (preamble + 4.25) * t_sym
    symbols = payload_symbols(
        sf, cr, payload_len, explicit_header=explicit_header, crc=crc, ldro=ldro
    )
    return t_preamble + symbols * t_sym


def bitrate_bps(sf: int, bw: float, cr: int, ldro: bool = False) -> float:
    """Payload bits per second the formula implies: 4*(SF-2*LDRO) bits per block of
    ``cr + 4`` symbols. Without LDRO it is the datasheet's SF*BW/2**SF*4/(4+CR)."""
    return 4 * (sf - 2 * int(ldro)) / ((cr + 4) * symbol_time_s(sf, bw))


def overhead_s(
    sf: int, bw: float, cr: int, preamble: int, *, explicit_header: bool, crc: bool, ldro: bool
) -> float:
    """Per-frame airtime besides ``8*bytes/bitrate``, for the engine's linear estimate.

    Preamble and sync (``preamble + 4.25`` symbols), the 8 fixed payload symbols, the
    header/CRC bits of the payload term at the coded rate, and half a coding block: the
    formula rounds up to whole blocks, so on average a frame carries half a block more
    than its bytes need. With it the linear estimate is within 6 % of :func:`airtime_s`
    from 20 bytes up at every spreading factor (the error is at most half a block).
    """
    per_block = 4 * (sf - 2 * int(ldro))
    fixed_bits = -4 * sf + 28 + 16 * int(crc) - 20 * int(not explicit_header)
    symbols = preamble + 4.25 + 8 + (fixed_bits / per_block + 0.5) * (cr + 4)
    return symbols * symbol_time_s(sf, bw)


def sensitivity_shift_db(sf_from: int, bw_from: float, sf_to: int, bw_to: float) -> float:
    """How much the sensitivity moves when the modem changes (negative: more sensitive).

    Sensitivity is -174 dBm/Hz + 10*log10(BW) + noise figure + SNR limit; the noise figure
    is the radio's own and cancels out, so a profile calibrated at one setting carries
    over to another.
    """
    return SNR_LIMIT_DB[sf_to] - SNR_LIMIT_DB[sf_from] + 10 * math.log10(bw_to / bw_from)
