"""The [whatsapp] config section: defaults, environment overrides, templates, secrets kept out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "EAAGm0PX4ZCpsBAJwhatsappTokenValue"
SECRET = "0123456789abcdef0123456789abcdef"


def test_off_by_default_and_on_with_phone_id_and_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    wa = load_settings().whatsapp
    assert not wa.enabled
    assert wa.graph_api_base == "https://graph.facebook.com"
    assert (wa.api_version, wa.messages_per_second) == ("23.0", 80)
    monkeypatch.setenv("KURASI_WHATSAPP__PHONE_NUMBER_ID", "106540352242922")
    monkeypatch.setenv("KURASI_WHATSAPP__TOKEN", TOKEN)
    monkeypatch.setenv("KURASI_WHATSAPP__APP_SECRET", SECRET)
    settings = load_settings()
    assert settings.whatsapp.enabled
    assert TOKEN not in repr(settings) and SECRET not in repr(settings)
    assert TOKEN in settings.secrets() and SECRET in settings.secrets()


def test_example_documents_the_section_and_templates_parse(tmp_path: Path) -> None:
    example = (Path(__file__).parents[2] / "config.example.toml").read_text(encoding="utf-8")
    assert "[whatsapp]" in example and "kurasi_revisi" in example
    path = tmp_path / "config.toml"
    path.write_text(
        '[whatsapp.templates.revision]\nname = "kurasi_revisi"\nparameters = ["product"]\n',
        encoding="utf-8",
    )
    template = load_settings(path).whatsapp.templates["revision"]
    assert (template.name, template.language, template.parameters) == (
        "kurasi_revisi",
        "id",
        ["product"],
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[whatsapp]\nphone_number_id = "+62 812"\n', "whatsapp.phone_number_id"),
        ('[whatsapp]\napi_version = "latest"\n', "whatsapp.api_version"),
        ("[whatsapp]\nmessages_per_second = 0\n", "whatsapp.messages_per_second"),
        ('[whatsapp]\ntokn = "x"\n', "whatsapp.tokn: unknown key"),
    ],
)
def test_mistakes_are_one_clear_line(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected.replace("+", r"\+")):
        load_settings(path)
