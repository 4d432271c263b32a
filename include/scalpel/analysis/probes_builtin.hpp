#pragma once
/// @file
/// @brief The built-in probe suite as JSON (schema `scalpel.probes/1`, see `probes.hpp` and docs/probes.md):
/// the eight loop-prone enumeration prompts of the study, each with rewordings, and five closed-list controls,
/// every one with a gold list. Stored as several raw-string pieces (each well under compiler string-literal
/// limits, one per probe) joined at run time by `builtin_probes_json()`. `scalpel probes --dump` prints it.
///
/// Facts checked for: 27 EU members (since 31 Jan 2020); 45 US presidents as persons / 47 presidencies through
/// Trump's second term; MCU theatrical films through 31 Dec 2025 (37); Firefly 14 episodes; The Wire 60 episodes
/// in 5 seasons; 88 IAU constellations; 151 generation-I Pokémon; noble gases He Ne Ar Kr Xe Rn (+ Og extra).

#include <array>
#include <string>
#include <string_view>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace analysis {

/// The pieces of the built-in probe file, in order.
inline constexpr std::array<std::string_view, 15> builtin_probes_pieces = {
    R"json({
  "format": "scalpel.probes/1",
  "description": "scalpel built-in probe suite: eight loop-prone enumeration prompts (paper-notes) and five closed-list controls, each with rewordings and a gold list.",
  "probes": [
)json",
    R"json(    {
      "id": "noble_gases",
      "category": "enumeration",
      "description": "The noble gases (group 18).",
      "wordings": [
        "List all of the noble gases.",
        "What are the noble gases? List every one of them.",
        "Name every element in group 18 of the periodic table.",
        "Give me a complete list of the noble gases."
      ],
      "expected_count": 6,
      "gold": {
        "ordered": true,
        "items": [
          {
            "name": "Helium",
            "aliases": [
              "He"
            ]
          },
          {
            "name": "Neon",
            "aliases": [
              "Ne"
            ]
          },
          {
            "name": "Argon",
            "aliases": [
              "Ar"
            ]
          },
          {
            "name": "Krypton",
            "aliases": [
              "Kr"
            ]
          },
          {
            "name": "Xenon",
            "aliases": [
              "Xe"
            ]
          },
          {
            "name": "Radon",
            "aliases": [
              "Rn"
            ]
          }
        ],
        "extras": [
          {
            "name": "Oganesson",
            "aliases": [
              "Og",
              "Ununoctium"
            ]
          }
        ]
      },
      "notes": "The six naturally occurring noble gases, in atomic-number order. Oganesson (element 118, synthetic, group 18) is accepted as a correct extra but not required."
    },
)json",
    R"json(    {
      "id": "eu_member_states",
      "category": "enumeration",
      "description": "Member states of the European Union.",
      "wordings": [
        "List all of the member states of the European Union.",
        "Name every country that is currently a member of the EU.",
        "Which countries belong to the European Union? List all of them.",
        "Give me a complete list of the EU member states."
      ],
      "expected_count": 27,
      "gold": {
        "ordered": false,
        "items": [
          "Austria",
          "Belgium",
          "Bulgaria",
          "Croatia",
          "Cyprus",
          {
            "name": "Czechia",
            "aliases": [
              "Czech Republic"
            ]
          },
          "Denmark",
          "Estonia",
          "Finland",
          "France",
          {
            "name": "Germany",
            "aliases": [
              "Federal Republic of Germany"
            ]
          },
          {
            "name": "Greece",
            "aliases": [
              "Hellenic Republic",
              "Hellas"
            ]
          },
          "Hungary",
          {
            "name": "Ireland",
            "aliases": [
              "Republic of Ireland",
              "Eire"
            ]
          },
          "Italy",
          "Latvia",
          "Lithuania",
          "Luxembourg",
          "Malta",
          {
            "name": "Netherlands",
            "aliases": [
              "Holland",
              "Kingdom of the Netherlands"
            ]
          },
          "Poland",
          "Portugal",
          "Romania",
          {
            "name": "Slovakia",
            "aliases": [
              "Slovak Republic"
            ]
          },
          "Slovenia",
          "Spain",
          "Sweden"
        ]
      },
      "notes": "27 members since the United Kingdom left on 31 January 2020 (alphabetical here; order is not scored). The United Kingdom is not a member."
    },
)json",
    R"json(    {
      "id": "us_presidents",
      "category": "enumeration",
      "description": "Presidents of the United States, in order.",
      "wordings": [
        "List all of the presidents of the United States in order.",
        "Name every US president, from George Washington to the present.",
        "Give me a complete, numbered list of the presidents of the United States.",
        "Who have been the presidents of the USA? List all of them in order."
      ],
      "expected_count": 45,
      "gold": {
        "ordered": true,
        "items": [
          "George Washington",
          "John Adams",
          "Thomas Jefferson",
          "James Madison",
          "James Monroe",
          "John Quincy Adams",
          "Andrew Jackson",
          "Martin Van Buren",
          {
            "name": "William Henry Harrison",
            "aliases": [
              "William H. Harrison"
            ]
          },
          "John Tyler",
          "James K. Polk",
          "Zachary Taylor",
          "Millard Fillmore",
          "Franklin Pierce",
          "James Buchanan",
          "Abraham Lincoln",
          "Andrew Johnson",
          {
            "name": "Ulysses S. Grant",
            "aliases": [
              "Ulysses Simpson Grant",
              "Hiram Ulysses Grant"
            ]
          },
          "Rutherford B. Hayes",
          "James A. Garfield",
          "Chester A. Arthur",
          {
            "name": "Grover Cleveland",
            "max_occurrences": 2
          },
          "Benjamin Harrison",
          "William McKinley",
          {
            "name": "Theodore Roosevelt",
            "aliases": [
              "Teddy Roosevelt",
              "Theodore Roosevelt Jr."
            ]
          },
          {
            "name": "William Howard Taft",
            "aliases": [
              "William H. Taft"
            ]
          },
          {
            "name": "Woodrow Wilson",
            "aliases": [
              "Thomas Woodrow Wilson"
            ]
          },
          {
            "name": "Warren G. Harding",
            "aliases": [
              "Warren Gamaliel Harding"
            ]
          },
          {
            "name": "Calvin Coolidge",
            "aliases": [
              "John Calvin Coolidge"
            ]
          },
          "Herbert Hoover",
          {
            "name": "Franklin D. Roosevelt",
            "aliases": [
              "Franklin Delano Roosevelt",
              "FDR"
            ]
          },
          "Harry S. Truman",
          {
            "name": "Dwight D. Eisenhower",
            "aliases": [
              "Dwight David Eisenhower",
              "Ike"
            ]
          },
          {
            "name": "John F. Kennedy",
            "aliases": [
              "John Fitzgerald Kennedy",
              "JFK"
            ]
          },
          {
            "name": "Lyndon B. Johnson",
            "aliases": [
              "Lyndon Baines Johnson",
              "LBJ"
            ]
          },
          {
            "name": "Richard Nixon",
            "aliases": [
              "Richard M. Nixon",
              "Richard Milhous Nixon"
            ]
          },
          {
            "name": "Gerald Ford",
            "aliases": [
              "Gerald R. Ford",
              "Gerald Rudolph Ford"
            ]
          },
          {
            "name": "Jimmy Carter",
            "aliases": [
              "James Earl Carter",
              "James E. Carter",
              "Jimmy Carter Jr."
            ]
          },
          {
            "name": "Ronald Reagan",
            "aliases": [
              "Ronald W. Reagan",
              "Ronald Wilson Reagan"
            ]
          },
          {
            "name": "George H. W. Bush",
            "aliases": [
              "George Herbert Walker Bush",
              "George Bush Sr."
            ]
          },
          {
            "name": "Bill Clinton",
            "aliases": [
              "William J. Clinton",
              "William Jefferson Clinton",
              "William Clinton"
            ]
          },
          {
            "name": "George W. Bush",
            "aliases": [
              "George Walker Bush",
              "George Bush Jr."
            ]
          },
          {
            "name": "Barack Obama",
            "aliases": [
              "Barack H. Obama",
              "Barack Hussein Obama"
            ]
          },
          {
            "name": "Donald Trump",
            "aliases": [
              "Donald J. Trump",
              "Donald John Trump"
            ],
            "max_occurrences": 2
          },
          {
            "name": "Joe Biden",
            "aliases": [
              "Joseph R. Biden",
              "Joseph Biden",
              "Joseph Robinette Biden",
              "Joe Biden Jr."
            ]
          }
        ]
      },
      "notes": "45 persons, 47 presidencies, through Donald Trump's second term (the 47th presidency, from 20 January 2025). Grover Cleveland (22nd and 24th) and Donald Trump (45th and 47th) served non-consecutive terms: each is one gold item that a correct numbered list may show twice (max_occurrences 2), so a correct list by presidency has 47 lines."
    },
)json",
    R"json(    {
      "id": "mcu_films",
      "category": "enumeration",
      "description": "Marvel Cinematic Universe theatrical films, in release order.",
      "wordings": [
        "List all of the Marvel Cinematic Universe films in release order.",
        "Name every MCU movie that has been released in theaters, in order.",
        "Give me a complete list of the Marvel Cinematic Universe's theatrical films.",
        "What are all the movies in the Marvel Cinematic Universe? List them in release order."
      ],
      "expected_count": 37,
      "gold": {
        "ordered": true,
        "items": [
          "Iron Man",
          "The Incredible Hulk",
          "Iron Man 2",
          "Thor",
          {
            "name": "Captain America: The First Avenger",
            "aliases": [
              "The First Avenger"
            ]
          },
          {
            "name": "The Avengers",
            "aliases": [
              "Marvel's The Avengers",
              "Avengers Assemble",
              "Marvel's Avengers"
            ]
          },
          "Iron Man 3",
          "Thor: The Dark World",
          {
            "name": "Captain America: The Winter Soldier",
            "aliases": [
              "The Winter Soldier"
            ]
          },
          "Guardians of the Galaxy",
          "Avengers: Age of Ultron",
          "Ant-Man",
          "Captain America: Civil War",
          {
            "name": "Doctor Strange",
            "aliases": [
              "Dr. Strange"
            ]
          },
          {
            "name": "Guardians of the Galaxy Vol. 2",
            "aliases": [
              "Guardians of the Galaxy Volume 2",
              "Guardians of the Galaxy 2"
            ]
          },
          "Spider-Man: Homecoming",
          "Thor: Ragnarok",
          "Black Panther",
          "Avengers: Infinity War",
          "Ant-Man and the Wasp",
          "Captain Marvel",
          "Avengers: Endgame",
          "Spider-Man: Far From Home",
          "Black Widow",
          {
            "name": "Shang-Chi and the Legend of the Ten Rings",
            "aliases": [
              "Shang-Chi"
            ]
          },
          "Eternals",
          "Spider-Man: No Way Home",
          {
            "name": "Doctor Strange in the Multiverse of Madness",
            "aliases": [
              "Dr. Strange in the Multiverse of Madness"
            ]
          },
          "Thor: Love and Thunder",
          "Black Panther: Wakanda Forever",
          {
            "name": "Ant-Man and the Wasp: Quantumania",
            "aliases": [
              "Quantumania"
            ]
          },
          {
            "name": "Guardians of the Galaxy Vol. 3",
            "aliases": [
              "Guardians of the Galaxy Volume 3",
              "Guardians of the Galaxy 3"
            ]
          },
          "The Marvels",
          {
            "name": "Deadpool & Wolverine",
            "aliases": [
              "Deadpool 3"
            ]
          },
          "Captain America: Brave New World",
          {
            "name": "Thunderbolts*",
            "aliases": [
              "The New Avengers"
            ]
          },
          {
            "name": "The Fantastic Four: First Steps",
            "aliases": [
              "Fantastic Four: First Steps",
              "The Fantastic 4: First Steps"
            ]
          }
        ]
      },
      "notes": "Cutoff: theatrical releases up to 31 December 2025 (37 films, the last being The Fantastic Four: First Steps, July 2025). Sony's Spider-Man Universe films, Disney+ series and specials are not MCU theatrical films. Thunderbolts* was re-branded \"The New Avengers\" after release; both names are accepted."
    },
)json",
    R"json(    {
      "id": "firefly_episodes",
      "category": "enumeration",
      "description": "Episodes of the TV series Firefly (2002).",
      "wordings": [
        "List all of the episodes of the TV series Firefly.",
        "Name every episode of Firefly.",
        "Give me a complete episode list for Joss Whedon's Firefly.",
        "What are all the episodes of the TV show Firefly? List every one."
      ],
      "expected_count": 14,
      "gold": {
        "ordered": false,
        "items": [
          "Serenity",
          "The Train Job",
          "Bushwhacked",
          "Shindig",
          "Safe",
          "Our Mrs. Reynolds",
          "Jaynestown",
          "Out of Gas",
          "Ariel",
          "War Stories",
          "Trash",
          "The Message",
          "Heart of Gold",
          "Objects in Space"
        ]
      },
      "notes": "14 episodes, listed in the intended (DVD) order; Fox aired them in a different order (The Train Job first) and did not air three in the US, so order is not scored. Serenity (the two-part pilot) is one episode; the 2005 film of the same name is not an episode."
    },
)json",
    R"json(    {
      "id": "iau_constellations",
      "category": "enumeration",
      "description": "The 88 constellations recognised by the International Astronomical Union.",
      "wordings": [
        "List all 88 constellations recognised by the IAU.",
        "Name every one of the 88 modern constellations.",
        "Give me a complete list of the constellations officially recognised by the International Astronomical Union.",
        "What are the 88 IAU constellations? List all of them."
      ],
      "expected_count": 88,
      "gold": {
        "ordered": false,
        "items": [
          "Andromeda",
          "Antlia",
          "Apus",
          "Aquarius",
          "Aquila",
          "Ara",
          "Aries",
          "Auriga",
          "Boötes",
          "Caelum",
          {
            "name": "Camelopardalis",
            "aliases": [
              "Camelopardus"
            ]
          },
          "Cancer",
          "Canes Venatici",
          "Canis Major",
          "Canis Minor",
          {
            "name": "Capricornus",
            "aliases": [
              "Capricorn"
            ]
          },
          "Carina",
          "Cassiopeia",
          "Centaurus",
          "Cepheus",
          "Cetus",
          {
            "name": "Chamaeleon",
            "aliases": [
              "Chameleon"
            ]
          },
          "Circinus",
          "Columba",
          "Coma Berenices",
          {
            "name": "Corona Australis",
            "aliases": [
              "Corona Austrina"
            ]
          },
          "Corona Borealis",
          "Corvus",
          "Crater",
          {
            "name": "Crux",
            "aliases": [
              "Southern Cross",
              "Crux Australis"
            ]
          },
          "Cygnus",
          "Delphinus",
          "Dorado",
          "Draco",
          "Equuleus",
          "Eridanus",
          "Fornax",
          "Gemini",
          "Grus",
          "Hercules",
          "Horologium",
          "Hydra",
          "Hydrus",
          "Indus",
          "Lacerta",
          "Leo",
          "Leo Minor",
          "Lepus",
          "Libra",
          "Lupus",
          "Lynx",
          "Lyra",
          "Mensa",
          "Microscopium",
          "Monoceros",
          "Musca",
          "Norma",
          "Octans",
          "Ophiuchus",
          "Orion",
          "Pavo",
          "Pegasus",
          "Perseus",
          "Phoenix",
          "Pictor",
          "Pisces",
          {
            "name": "Piscis Austrinus",
            "aliases": [
              "Piscis Australis"
            ]
          },
          "Puppis",
          "Pyxis",
          "Reticulum",
          "Sagitta",
          "Sagittarius",
          {
            "name": "Scorpius",
            "aliases": [
              "Scorpio"
            ]
          },
          "Sculptor",
          "Scutum",
          {
            "name": "Serpens",
            "aliases": [
              "Serpens Caput",
              "Serpens Cauda"
            ]
          },
          "Sextans",
          "Taurus",
          "Telescopium",
          "Triangulum",
          "Triangulum Australe",
          "Tucana",
          "Ursa Major",
          "Ursa Minor",
          "Vela",
          "Virgo",
          "Volans",
          "Vulpecula"
        ]
      },
      "notes": "The 88 IAU constellations (1922/1930 boundaries), alphabetical; order is not scored. Serpens is one constellation in two parts: \"Serpens Caput\" and \"Serpens Cauda\" are aliases of it, so listing both counts one duplicate. Boötes may be written Bootes."
    },
)json",
    R"json(    {
      "id": "pokemon_gen1",
      "category": "enumeration",
      "description": "The 151 generation-I Pokémon, in National Pokédex order.",
      "wordings": [
        "List all 151 original Pokémon.",
        "Name every generation I Pokémon, in Pokédex order.",
        "Give me a complete list of the first 151 Pokémon.",
        "What are all of the Pokémon from Pokémon Red and Blue? List every one, numbered."
      ],
      "expected_count": 151,
      "gold": {
        "ordered": true,
        "items": [
          "Bulbasaur",
          "Ivysaur",
          "Venusaur",
          "Charmander",
          "Charmeleon",
          "Charizard",
          "Squirtle",
          "Wartortle",
          "Blastoise",
          "Caterpie",
          "Metapod",
          "Butterfree",
          "Weedle",
          "Kakuna",
          "Beedrill",
          "Pidgey",
          "Pidgeotto",
          "Pidgeot",
          "Rattata",
          "Raticate",
          "Spearow",
          "Fearow",
          "Ekans",
          "Arbok",
          "Pikachu",
          "Raichu",
          "Sandshrew",
          "Sandslash",
          {
            "name": "Nidoran♀",
            "aliases": [
              "Nidoran F",
              "Nidoran-F",
              "Nidoran (F)",
              "Nidoran Female",
              "Female Nidoran",
              "Nidoran (female)"
            ]
          },
          "Nidorina",
          "Nidoqueen",
          {
            "name": "Nidoran♂",
            "aliases": [
              "Nidoran M",
              "Nidoran-M",
              "Nidoran (M)",
              "Nidoran Male",
              "Male Nidoran",
              "Nidoran (male)"
            ]
          },
          "Nidorino",
          "Nidoking",
          "Clefairy",
          "Clefable",
          "Vulpix",
          "Ninetales",
          "Jigglypuff",
          "Wigglytuff",
          "Zubat",
          "Golbat",
          "Oddish",
          "Gloom",
          "Vileplume",
          "Paras",
          "Parasect",
          "Venonat",
          "Venomoth",
          "Diglett",
          "Dugtrio",
          "Meowth",
          "Persian",
          "Psyduck",
          "Golduck",
          "Mankey",
          "Primeape",
          "Growlithe",
          "Arcanine",
          "Poliwag",
          "Poliwhirl",
          "Poliwrath",
          "Abra",
          "Kadabra",
          "Alakazam",
          "Machop",
          "Machoke",
          "Machamp",
          "Bellsprout",
          "Weepinbell",
          "Victreebel",
          "Tentacool",
          "Tentacruel",
          "Geodude",
          "Graveler",
          "Golem",
          "Ponyta",
          "Rapidash",
          "Slowpoke",
          "Slowbro",
          "Magnemite",
          "Magneton",
          {
            "name": "Farfetch'd",
            "aliases": [
              "Farfetchd",
              "Farfetch’d"
            ]
          },
          "Doduo",
          "Dodrio",
          "Seel",
          "Dewgong",
          "Grimer",
          "Muk",
          "Shellder",
          "Cloyster",
          "Gastly",
          "Haunter",
          "Gengar",
          "Onix",
          "Drowzee",
          "Hypno",
          "Krabby",
          "Kingler",
          "Voltorb",
          "Electrode",
          "Exeggcute",
          "Exeggutor",
          "Cubone",
          "Marowak",
          "Hitmonlee",
          "Hitmonchan",
          "Lickitung",
          "Koffing",
          "Weezing",
          "Rhyhorn",
          "Rhydon",
          "Chansey",
          "Tangela",
          "Kangaskhan",
          "Horsea",
          "Seadra",
          "Goldeen",
          "Seaking",
          "Staryu",
          "Starmie",
          {
            "name": "Mr. Mime",
            "aliases": [
              "Mr Mime",
              "Mister Mime"
            ]
          },
          "Scyther",
          "Jynx",
          "Electabuzz",
          "Magmar",
          "Pinsir",
          "Tauros",
          "Magikarp",
          "Gyarados",
          "Lapras",
          "Ditto",
          "Eevee",
          "Vaporeon",
          "Jolteon",
          "Flareon",
          "Porygon",
          "Omanyte",
          "Omastar",
          "Kabuto",
          "Kabutops",
          "Aerodactyl",
          "Snorlax",
          "Articuno",
          "Zapdos",
          "Moltres",
          "Dratini",
          "Dragonair",
          "Dragonite",
          "Mewtwo",
          "Mew"
        ]
      },
      "notes": "National Pokédex #001 Bulbasaur to #151 Mew. \"Nidoran\" alone is ambiguous and matches neither Nidoran♀ nor Nidoran♂. Spelling variants: Nidoran F/M, Mr Mime, Farfetchd; diacritics and case are ignored everywhere (Pokemon = Pokémon)."
    },
)json",
    R"json(    {
      "id": "the_wire_episodes",
      "category": "enumeration",
      "description": "Episodes of the HBO series The Wire (2002-2008), season by season.",
      "wordings": [
        "List all of the episodes of the TV series The Wire.",
        "Name every episode of The Wire, season by season.",
        "Give me a complete episode list for HBO's The Wire.",
        "What are all the episodes of The Wire? List every one, grouped by season."
      ],
      "expected_count": 60,
      "gold": {
        "ordered": true,
        "items": [
          "The Target",
          "The Detail",
          "The Buys",
          "Old Cases",
          "The Pager",
          "The Wire",
          "One Arrest",
          "Lessons",
          "Game Day",
          "The Cost",
          "The Hunt",
          "Cleaning Up",
          "Sentencing",
          "Ebb Tide",
          "Collateral Damage",
          "Hot Shots",
          "Hard Cases",
          "Undertow",
          "All Prologue",
          "Backwash",
          {
            "name": "Duck and Cover",
            "aliases": [
              "Duck & Cover"
            ]
          },
          "Stray Rounds",
          "Storm Warnings",
          "Bad Dreams",
          "Port in a Storm",
          "Time After Time",
          "All Due Respect",
          "Dead Soldiers",
          "Hamsterdam",
          "Straight and True",
          "Homecoming",
          "Back Burners",
          "Moral Midgetry",
          "Slapstick",
          "Reformation",
          "Middle Ground",
          "Mission Accomplished",
          "Boys of Summer",
          "Soft Eyes",
          "Home Rooms",
          "Refugees",
          "Alliances",
          "Margin of Error",
          "Unto Others",
          "Corner Boys",
          "Know Your Place",
          "Misgivings",
          "A New Day",
          "That's Got His Own",
          "Final Grades",
          {
            "name": "More with Less",
            "aliases": [
              "More With Less"
            ]
          },
          "Unconfirmed Reports",
          "Not for Attribution",
          "Transitions",
          "React Quotes",
          "The Dickensian Aspect",
          "Took",
          "Clarifications",
          "Late Editions",
          {
            "name": "-30-",
            "aliases": [
              "30",
              "Thirty"
            ]
          }
        ]
      },
      "notes": "60 episodes over 5 seasons (13, 12, 12, 13 and 10 episodes), in broadcast order. The series finale is titled \"-30-\"."
    },
)json",
    R"json(    {
      "id": "days_of_week",
      "category": "control",
      "description": "Days of the week.",
      "wordings": [
        "List the days of the week.",
        "Name all seven days of the week, starting with Monday.",
        "What are the days of the week? List them."
      ],
      "expected_count": 7,
      "gold": {
        "ordered": true,
        "items": [
          {
            "name": "Monday",
            "aliases": [
              "Mon"
            ]
          },
          {
            "name": "Tuesday",
            "aliases": [
              "Tue",
              "Tues"
            ]
          },
          {
            "name": "Wednesday",
            "aliases": [
              "Wed"
            ]
          },
          {
            "name": "Thursday",
            "aliases": [
              "Thu",
              "Thurs"
            ]
          },
          {
            "name": "Friday",
            "aliases": [
              "Fri"
            ]
          },
          {
            "name": "Saturday",
            "aliases": [
              "Sat"
            ]
          },
          {
            "name": "Sunday",
            "aliases": [
              "Sun"
            ]
          }
        ]
      },
      "notes": "Order starting Monday (ISO 8601); a list starting on Sunday loses one order step."
    },
)json",
    R"json(    {
      "id": "months",
      "category": "control",
      "description": "Months of the year.",
      "wordings": [
        "List the months of the year.",
        "Name all twelve months of the year in order.",
        "What are the months of the year? List them in order."
      ],
      "expected_count": 12,
      "gold": {
        "ordered": true,
        "items": [
          {
            "name": "January",
            "aliases": [
              "Jan"
            ]
          },
          {
            "name": "February",
            "aliases": [
              "Feb"
            ]
          },
          {
            "name": "March",
            "aliases": [
              "Mar"
            ]
          },
          {
            "name": "April",
            "aliases": [
              "Apr"
            ]
          },
          "May",
          {
            "name": "June",
            "aliases": [
              "Jun"
            ]
          },
          {
            "name": "July",
            "aliases": [
              "Jul"
            ]
          },
          {
            "name": "August",
            "aliases": [
              "Aug"
            ]
          },
          {
            "name": "September",
            "aliases": [
              "Sep",
              "Sept"
            ]
          },
          {
            "name": "October",
            "aliases": [
              "Oct"
            ]
          },
          {
            "name": "November",
            "aliases": [
              "Nov"
            ]
          },
          {
            "name": "December",
            "aliases": [
              "Dec"
            ]
          }
        ]
      }
    },
)json",
    R"json(    {
      "id": "planets",
      "category": "control",
      "description": "Planets of the solar system.",
      "wordings": [
        "List the planets of the solar system.",
        "Name every planet in our solar system, in order from the Sun.",
        "What are the planets of the solar system? List all of them."
      ],
      "expected_count": 8,
      "gold": {
        "ordered": true,
        "items": [
          "Mercury",
          "Venus",
          "Earth",
          "Mars",
          "Jupiter",
          "Saturn",
          "Uranus",
          "Neptune"
        ]
      },
      "notes": "The eight IAU planets (2006 definition), in order from the Sun. Pluto is a dwarf planet and is counted as wrong."
    },
)json",
    R"json(    {
      "id": "rainbow_colours",
      "category": "control",
      "description": "Colours of the rainbow.",
      "wordings": [
        "List the colours of the rainbow.",
        "Name the seven colors of the rainbow in order.",
        "What are the colours of a rainbow? List them."
      ],
      "expected_count": 7,
      "gold": {
        "ordered": true,
        "items": [
          "Red",
          "Orange",
          "Yellow",
          "Green",
          "Blue",
          "Indigo",
          {
            "name": "Violet",
            "aliases": [
              "Purple"
            ]
          }
        ]
      },
      "notes": "The traditional seven (ROYGBIV)."
    },
)json",
    R"json(    {
      "id": "continents",
      "category": "control",
      "description": "Continents.",
      "wordings": [
        "List the continents.",
        "Name all seven continents.",
        "What are the continents of the world? List them."
      ],
      "expected_count": 7,
      "gold": {
        "ordered": false,
        "items": [
          "Africa",
          "Antarctica",
          "Asia",
          {
            "name": "Australia",
            "aliases": [
              "Oceania",
              "Australia/Oceania",
              "Australia and Oceania",
              "Sahul"
            ]
          },
          "Europe",
          "North America",
          "South America"
        ]
      },
      "notes": "The seven-continent model; Australia and Oceania are accepted for the same continent."
    }
)json",
    R"json(  ]
}
)json",
};

/// The built-in probe file (the pieces joined).
inline std::string builtin_probes_json() {
  std::string s;
  for (const auto p : builtin_probes_pieces) s.append(p);
  return s;
}

}  // namespace analysis
SCALPEL_END_NAMESPACE
